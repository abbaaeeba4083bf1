"""The composition root: the one place where services are built from the config and their clients (server.py and
the tests), one domain at a time, in dependency order; then started and stopped.

Each domain's builder lives beside it in this package and returns that domain's frozen parts; `build_services`
only orders them and applies the tests' replacements (mailer, notifier, storage).
"""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

from services.config import Config
from services.infra import check_redis_mode
from services.mail import AccountNotifier, Mailer
from services.operations import NO_OBSERVER, AuditLog, Metrics
from services.pictures import ObjectStorage
from services.users import UserStore
from services.wiring.accounts import Accounts, build_accounts
from services.wiring.limits import Limits, build_limits
from services.wiring.mail import Mail, build_mail
from services.wiring.operations import Operations, build_operations
from services.wiring.pictures import Pictures, build_pictures
from services.wiring.resource_servers import ResourceServers, build_resource_servers
from services.wiring.sessions import Sessions, build_sessions
from services.wiring.social import Social, build_social
from services.wiring.tokens import Tokens, build_tokens

__all__ = ["Accounts", "Limits", "Mail", "Operations", "Pictures", "ResourceServers", "Services", "Sessions", "Social",
           "Tokens", "build_services", "start_services", "stop_services"]


@dataclass(frozen=True)
class Services:
    config: Config
    redis: Any
    database: Any
    users: UserStore
    tokens: Tokens
    limits: Limits
    sessions: Sessions
    mail: Mail
    pictures: Pictures
    social: Social
    accounts: Accounts
    operations: Operations
    resource_servers: ResourceServers


def build_services(config: Config, database: Any, redis: Any, executor: Executor | None = None,
                   mailer: Mailer | None = None, notifier: AccountNotifier | None = None,
                   storage: ObjectStorage | None = None) -> Services:
    """`mailer`, `notifier` and `storage` replace the ones the config names (tests)."""
    observer = Metrics(directory=config.metrics_path) if config.metrics_enabled else NO_OBSERVER
    audit = AuditLog()
    users = UserStore(database=database)
    tokens = build_tokens(config=config, redis=redis, users=users, executor=executor, observer=observer)
    limits = build_limits(config=config, redis=redis, observer=observer)
    sessions = build_sessions(config=config, redis=redis, users=users, tokens=tokens, limits=limits, audit=audit,
                              observer=observer)
    mail = build_mail(config=config, redis=redis, users=users, tokens=tokens, mailer=mailer)
    pictures = build_pictures(config=config, database=database, users=users, audit=audit, executor=executor,
                              storage=storage)
    social = build_social(config=config, redis=redis, database=database, users=users, sessions=sessions, audit=audit)
    accounts = build_accounts(config=config, users=users, tokens=tokens, limits=limits, sessions=sessions, mail=mail,
                              pictures=pictures, social=social, audit=audit, observer=observer, executor=executor,
                              notifier=notifier)
    operations = build_operations(config=config, redis=redis, database=database, tokens=tokens, mail=mail,
                                  audit=audit, observer=observer)
    resource_servers = build_resource_servers(config=config, redis=redis, tokens=tokens, sessions=sessions)
    return Services(config=config, redis=redis, database=database, users=users, tokens=tokens, limits=limits,
                    sessions=sessions, mail=mail, pictures=pictures, social=social, accounts=accounts,
                    operations=operations, resource_servers=resource_servers)


async def start_services(services: Services) -> None:
    """Start-up I/O, done once: indexes and the first read of the key ring; then the background jobs."""
    await check_redis_mode(services.redis)
    await services.users.create_indexes()
    await services.pictures.pending.create_indexes()
    await services.social.identities.create_indexes()
    await services.tokens.keyring.reload()
    services.tokens.keyring.start_watching(services.config.jwt_keys_reload_seconds)
    services.pictures.manager.start_sweeping()
    services.mail.worker.start()


async def stop_services(services: Services) -> None:
    await services.mail.worker.stop()
    await services.tokens.keyring.stop_watching()
    await services.pictures.manager.stop_sweeping()
    await services.pictures.storage.close()
    services.social.sign_in.close()
    await services.redis.aclose()
    services.operations.observer.close()
