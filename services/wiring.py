"""The one place where services are composed from the config and their clients (server.py and tests)."""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.accounts import AccountService
from services.audit import AuditLog
from services.client_ip import ClientAddressResolver, parse_networks
from services.config import Config
from services.epochs import TokenEpochs
from services.identities import IdentityStore
from services.keyring import KeyRing
from services.logins import LoginService
from services.oauth_apis import FacebookProvider, GitHubProvider
from services.oauth_state import RedirectAllowList, SignInStates
from services.oidc import OidcProvider
from services.outbound import ProviderHttp
from services.passwords import PasswordHasher, PasswordPolicy, common_passwords
from services.ratelimit import RateLimiter
from services.sessions import SessionStore
from services.social import SocialLoginService, SocialProvider
from services.throttle import Throttle
from services.tokens import TokenService
from services.user_locks import UserLocks
from services.users import UserStore


@dataclass(frozen=True)
class Services:
    config: Config
    keyring: KeyRing
    tokens: TokenService
    users: UserStore
    logins: LoginService
    accounts: AccountService
    social: SocialLoginService
    identities: IdentityStore
    throttle: Throttle
    client_addresses: ClientAddressResolver
    redis: Any


def build_services(config: Config, database: Any, redis: Any, executor: Executor | None = None) -> Services:
    retry_after = config.unavailable_retry_after
    keyring = KeyRing(Path(config.jwt_keys), signing_kid=config.jwt_signing_kid, executor=executor)
    tokens = TokenService(
        keyring, issuer=config.jwt_issuer, audience=config.jwt_audience,
        access_lifetime=config.jwt_access_token_lifetime, refresh_lifetime=config.jwt_refresh_token_lifetime,
        leeway=config.jwt_leeway,
    )
    users = UserStore(database)
    hasher = PasswordHasher(config.bcrypt_cost, executor)
    audit = AuditLog()
    throttle = Throttle(RateLimiter(redis, retry_after), config)
    logins = LoginService(
        users, TokenEpochs(redis, config.jwt_refresh_token_lifetime, retry_after),
        SessionStore(redis, config.jwt_refresh_token_lifetime, retry_after), tokens, hasher, throttle, audit,
        max_password_length=config.password_max_length, retry_after=retry_after,
    )
    policy = PasswordPolicy(config.password_min_length, config.password_max_length, common_passwords())
    accounts = AccountService(users, logins, hasher, policy, audit, disable_signup=config.disable_signup)
    identities = IdentityStore(database)
    http = ProviderHttp(config.social_http_timeout_seconds, retry_after)
    social = SocialLoginService(
        _providers(config, http), identities, users, logins,
        SignInStates(redis, config.social_state_ttl_seconds, retry_after),
        RedirectAllowList(config.social_redirect_allowlist), http, audit, UserLocks(redis, retry_after),
        app_url=config.app_url, disable_signup=config.disable_signup,
    )
    return Services(config=config, keyring=keyring, tokens=tokens, users=users, logins=logins, accounts=accounts,
                    social=social, identities=identities,
                    throttle=throttle, client_addresses=ClientAddressResolver(parse_networks(config.trusted_proxies)),
                    redis=redis)


def _providers(config: Config, http: ProviderHttp) -> dict[str, SocialProvider]:
    providers: dict[str, SocialProvider] = {}
    for provider in config.social_providers:
        if provider.kind == "oidc":
            providers[provider.name] = OidcProvider(
                provider, http, leeway=config.social_token_leeway, refetch_seconds=config.social_jwks_refetch_seconds,
                retry_after=config.unavailable_retry_after)
        elif provider.kind == "facebook":
            providers[provider.name] = FacebookProvider(provider, http)
        else:
            providers[provider.name] = GitHubProvider(provider, http)
    return providers


async def start_services(services: Services) -> None:
    """Start-up I/O, done once: indexes and the first read of the key ring."""
    await services.users.create_indexes()
    await services.identities.create_indexes()
    await services.keyring.reload()
    services.keyring.start_watching(services.config.jwt_keys_reload_seconds)


async def stop_services(services: Services) -> None:
    await services.keyring.stop_watching()
    services.social.close()
    await services.redis.aclose()
