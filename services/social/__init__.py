"""Social sign-in: providers (OpenID Connect, Facebook, GitHub) behind one Protocol, the browser flow's states,
the linking rules that decide which of our users a provider's identity stands for, and linked identities."""

from services.social.accounts import SocialAccounts
from services.social.http import ProviderHttp
from services.social.identities import IdentityStore, LinkedIdentity
from services.social.oauth_apis import FacebookProvider, GitHubProvider
from services.social.oidc import OidcProvider
from services.social.provider import ProviderIdentity, SocialProvider
from services.social.redirects import RedirectAllowList
from services.social.service import SocialLoginService
from services.social.states import PendingSignIn, SignInStates

__all__ = ["FacebookProvider", "GitHubProvider", "IdentityStore", "LinkedIdentity", "OidcProvider",
           "PendingSignIn", "ProviderHttp", "ProviderIdentity", "RedirectAllowList", "SignInStates",
           "SocialAccounts", "SocialLoginService", "SocialProvider"]
