"""The seam every sign-in provider fits: what the provider vouches for, and what we ask of a provider.

Two kinds implement it: OpenID Connect issuers (services/social/oidc.py: the provider signs an ID token that
carries our nonce) and OAuth APIs without ID tokens (services/social/oauth_apis.py: Facebook and GitHub, whose
access tokens we check with the provider's own API). A new kind is a new class, not an edit of the flows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from services.config import ProviderConfig

CredentialField = Literal["id_token", "access_token"]


@dataclass(frozen=True)
class ProviderIdentity:
    """Who the provider says signed in: the stable `subject` and what it asserts about the email."""

    provider: str
    subject: str
    email: str | None
    email_verified: bool
    name: str


class SocialProvider(Protocol):
    config: ProviderConfig
    # Which token vouches for the person: the field a mobile app sends, and the one taken from the token
    # endpoint's answer. Only an ID token carries the nonce of the browser flow (OIDC Core §3.1.2.1).
    credential_field: CredentialField

    async def authorization_endpoint(self) -> str:
        """Where the browser is sent to sign in."""
        ...

    async def token_endpoint(self) -> str:
        """Where an authorization code is exchanged (with our secret and the PKCE verifier)."""
        ...

    async def verify(self, token: str, nonce: str | None = None) -> ProviderIdentity:
        """The identity `token` proves, issued to our app; AuthError(PROVIDER_TOKEN_INVALID) otherwise."""
        ...
