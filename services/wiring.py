"""The one place where services are composed from the config and their clients (server.py and tests)."""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.accounts import AccountService
from services.action_tokens import ActionLinks, ActionTokenStore
from services.audit import AuditLog
from services.backends import check_redis_mode
from services.client_ip import ClientAddressResolver, parse_networks
from services.config import Config
from services.epochs import TokenEpochs
from services.identities import IdentityStore
from services.images import ImageProcessor
from services.keyring import KeyRing
from services.lifecycle import AccountLifecycle
from services.logins import LoginService
from services.mail_composer import MailComposer
from services.mail_worker import MailWorker
from services.mailers import Mailer, build_mailer
from services.metrics import Metrics, MetricsExposition
from services.notifier import AccountNotifier, MailNotifier
from services.oauth_apis import FacebookProvider, GitHubProvider
from services.oauth_state import RedirectAllowList, SignInStates
from services.observer import NO_OBSERVER, Observer
from services.oidc import OidcProvider
from services.outbound import ProviderHttp
from services.outbox import Outbox
from services.passwords import PasswordHasher, PasswordPolicy, common_passwords
from services.pending_objects import PendingObjects
from services.pictures import PictureService
from services.ratelimit import RateLimiter
from services.readiness import Readiness
from services.recovery import PasswordReset
from services.sessions import SessionStore
from services.social import SocialLoginService, SocialProvider
from services.social_accounts import SocialAccounts
from services.storage import ObjectStorage, build_storage
from services.throttle import Throttle
from services.tokens import TokenService
from services.user_locks import UserLocks
from services.users import UserStore
from services.verification import EmailVerification


@dataclass(frozen=True)
class Services:
    config: Config
    keyring: KeyRing
    tokens: TokenService
    users: UserStore
    logins: LoginService
    accounts: AccountService
    verification: EmailVerification
    recovery: PasswordReset
    outbox: Outbox
    mail_worker: MailWorker
    social: SocialLoginService
    social_accounts: SocialAccounts
    identities: IdentityStore
    throttle: Throttle
    client_addresses: ClientAddressResolver
    redis: Any
    storage: ObjectStorage
    pending_objects: PendingObjects
    pictures: PictureService
    lifecycle: AccountLifecycle
    # Operations: the metrics hook (a no-op one when METRICS_ENABLED is off), /metrics and /readyz.
    observer: Observer
    exposition: MetricsExposition | None
    readiness: Readiness


def build_services(config: Config, database: Any, redis: Any, executor: Executor | None = None,
                   mailer: Mailer | None = None, notifier: AccountNotifier | None = None,
                   storage: ObjectStorage | None = None) -> Services:
    """`mailer`, `notifier` and `storage` replace the ones the config names (tests)."""
    retry_after = config.unavailable_retry_after
    observer = Metrics(config.metrics_path) if config.metrics_enabled else NO_OBSERVER
    keyring = KeyRing(Path(config.jwt_keys), signing_kid=config.jwt_signing_kid, executor=executor,
                      observer=observer)
    tokens = TokenService(
        keyring, issuer=config.jwt_issuer, audience=config.jwt_audience,
        access_lifetime=config.jwt_access_token_lifetime, refresh_lifetime=config.jwt_refresh_token_lifetime,
        leeway=config.jwt_leeway,
    )
    users = UserStore(database)
    hasher = PasswordHasher(config.bcrypt_cost, executor)
    audit = AuditLog()
    throttle = Throttle(RateLimiter(redis, retry_after), config, observer)
    logins = LoginService(
        users, TokenEpochs(redis, config.jwt_refresh_token_lifetime, retry_after),
        SessionStore(redis, config.jwt_refresh_token_lifetime, retry_after), tokens, hasher, throttle, audit,
        max_password_length=config.password_max_length, retry_after=retry_after,
        verification_required=config.email_verification_required, observer=observer,
    )
    policy = PasswordPolicy(config.password_min_length, config.password_max_length, common_passwords())
    outbox = Outbox(redis, lease_seconds=config.mail_lease_seconds, max_attempts=config.mail_max_attempts,
                    retry_base_seconds=config.mail_retry_base_seconds,
                    retry_max_seconds=config.mail_retry_max_seconds, retry_after=retry_after)
    links = ActionLinks(ActionTokenStore(redis, retry_after), users, logins,
                        {"verify": config.email_verification_lifetime, "reset": config.password_reset_lifetime})
    verification = EmailVerification(links, outbox, throttle, users, logins, audit)
    recovery = PasswordReset(links, outbox, throttle, logins, hasher, policy, audit)
    accounts = AccountService(users, logins, hasher, policy, audit, verification, outbox,
                              disable_signup=config.disable_signup,
                              verification_required=config.email_verification_required)
    worker = MailWorker(outbox, MailComposer(config, users, logins, links), mailer or build_mailer(config),
                        send_timeout=config.mail_send_timeout_seconds)
    storage = storage or build_storage(config, executor)
    pending = PendingObjects(database, retry_after)
    pictures = PictureService(users, storage, ImageProcessor(config.picture_max_edge, config.picture_max_pixels,
                                                             executor), pending, audit, retry_after)
    identities = IdentityStore(database)
    lifecycle = AccountLifecycle(users, logins, pictures, notifier or MailNotifier(outbox), audit, retry_after,
                                 identities)
    http = ProviderHttp(config.social_http_timeout_seconds, retry_after)
    social_accounts = SocialAccounts(identities, users, logins, audit, UserLocks(redis, retry_after),
                                     disable_signup=config.disable_signup)
    social = SocialLoginService(
        _providers(config, http), social_accounts, SignInStates(redis, config.social_state_ttl_seconds, retry_after),
        RedirectAllowList(config.social_redirect_allowlist), http, app_url=config.app_url,
    )
    return Services(config=config, keyring=keyring, tokens=tokens, users=users, logins=logins, accounts=accounts,
                    verification=verification, recovery=recovery, outbox=outbox, mail_worker=worker,
                    social=social, social_accounts=social_accounts, identities=identities,
                    throttle=throttle, client_addresses=ClientAddressResolver(parse_networks(config.trusted_proxies)),
                    redis=redis, storage=storage, pending_objects=pending, pictures=pictures, lifecycle=lifecycle,
                    observer=observer, readiness=Readiness(redis, database, keyring, config.readiness_timeout_seconds),
                    exposition=MetricsExposition(config.metrics_path, keyring, outbox, config.readiness_timeout_seconds)
                    if config.metrics_enabled else None)


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
    """Start-up I/O, done once: indexes and the first read of the key ring; then the background jobs."""
    await check_redis_mode(services.redis)
    await services.users.create_indexes()
    await services.pending_objects.create_indexes()
    await services.identities.create_indexes()
    await services.keyring.reload()
    services.keyring.start_watching(services.config.jwt_keys_reload_seconds)
    services.pictures.start_sweeping()
    services.mail_worker.start()


async def stop_services(services: Services) -> None:
    await services.mail_worker.stop()
    await services.keyring.stop_watching()
    await services.pictures.stop_sweeping()
    await services.storage.close()
    services.social.close()
    await services.redis.aclose()
    services.observer.close()
