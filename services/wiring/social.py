"""The social domain's parts, built from the config and their clients (the root orders the builders)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.config import Config
from services.infra import IndexBuild, UserLocks
from services.operations import AuditLog
from services.social import (
    FacebookProvider,
    GitHubProvider,
    IdentityStore,
    OidcProvider,
    ProviderHttp,
    RedirectAllowList,
    SignInStates,
    SocialAccounts,
    SocialLoginService,
    SocialProvider,
)
from services.users import UserStore
from services.wiring.sessions import Sessions


@dataclass(frozen=True)
class Social:
    sign_in: SocialLoginService
    accounts: SocialAccounts
    identities: IdentityStore


def build_social(*, config: Config, redis: Any, database: Any, indexes: IndexBuild, users: UserStore,
                 sessions: Sessions, audit: AuditLog) -> Social:
    identities = IdentityStore(database=database, indexes=indexes)
    accounts = SocialAccounts(identities=identities, users=users, sessions=sessions.manager, audit=audit,
                              locks=UserLocks(redis=redis), disable_signup=config.disable_signup)
    http = ProviderHttp(timeout=config.social_http_timeout_seconds)
    sign_in = SocialLoginService(
        providers=_providers(config, http), accounts=accounts,
        states=SignInStates(redis=redis, ttl_seconds=config.social_state_ttl_seconds),
        redirects=RedirectAllowList(entries=config.social_redirect_allowlist), http=http, app_url=config.app_url)
    return Social(sign_in=sign_in, accounts=accounts, identities=identities)


def _providers(config: Config, http: ProviderHttp) -> dict[str, SocialProvider]:
    providers: dict[str, SocialProvider] = {}
    for provider in config.social_providers:
        if provider.kind == "oidc":
            providers[provider.name] = OidcProvider(config=provider, http=http, leeway=config.social_token_leeway,
                                                    refetch_seconds=config.social_jwks_refetch_seconds)
        elif provider.kind == "facebook":
            providers[provider.name] = FacebookProvider(config=provider, http=http)
        else:
            providers[provider.name] = GitHubProvider(config=provider, http=http)
    return providers
