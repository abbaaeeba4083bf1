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
from services.images import ImageProcessor
from services.keyring import KeyRing
from services.lifecycle import AccountLifecycle
from services.logins import LoginService
from services.notifier import AccountNotifier, LoggingNotifier
from services.passwords import PasswordHasher, PasswordPolicy, common_passwords
from services.pending_objects import PendingObjects
from services.pictures import PictureService
from services.ratelimit import RateLimiter
from services.sessions import SessionStore
from services.storage import ObjectStorage, build_storage
from services.throttle import Throttle
from services.tokens import TokenService
from services.users import UserStore


@dataclass(frozen=True)
class Services:
    config: Config
    keyring: KeyRing
    tokens: TokenService
    users: UserStore
    logins: LoginService
    accounts: AccountService
    throttle: Throttle
    client_addresses: ClientAddressResolver
    redis: Any
    storage: ObjectStorage
    pending_objects: PendingObjects
    pictures: PictureService
    lifecycle: AccountLifecycle


def build_services(config: Config, database: Any, redis: Any, executor: Executor | None = None,
                   notifier: AccountNotifier | None = None, storage: ObjectStorage | None = None) -> Services:
    """`notifier` defaults to a log line until a mailer is wired; `storage` to the one the config names."""
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
    storage = storage or build_storage(config, executor)
    pending = PendingObjects(database, retry_after)
    pictures = PictureService(users, storage, ImageProcessor(config.picture_max_edge, config.picture_max_pixels,
                                                             executor), pending, audit, retry_after)
    lifecycle = AccountLifecycle(users, logins, pictures, notifier or LoggingNotifier(), audit, retry_after)
    return Services(config=config, keyring=keyring, tokens=tokens, users=users, logins=logins, accounts=accounts,
                    throttle=throttle, client_addresses=ClientAddressResolver(parse_networks(config.trusted_proxies)),
                    redis=redis, storage=storage, pending_objects=pending, pictures=pictures, lifecycle=lifecycle)


async def start_services(services: Services) -> None:
    """Start-up I/O, done once: indexes and the first read of the key ring; then the background jobs."""
    await services.users.create_indexes()
    await services.pending_objects.create_indexes()
    await services.keyring.reload()
    services.keyring.start_watching(services.config.jwt_keys_reload_seconds)
    services.pictures.start_sweeping()


async def stop_services(services: Services) -> None:
    await services.keyring.stop_watching()
    await services.pictures.stop_sweeping()
    await services.storage.close()
    await services.redis.aclose()
