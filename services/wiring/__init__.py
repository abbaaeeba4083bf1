"""The composition root: the one place where services are built from the config and their clients (server.py and
the tests), one domain at a time, in dependency order; then started and stopped.

Each domain's builder lives beside it in this package and returns that domain's frozen parts; `build_services`
only orders them and applies the tests' replacements (mailer, notifier, storage).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.config import Config
from services.infra import IndexBuild, IndexBuildFailed, check_redis_mode, mongo_hosts
from services.mail import AccountNotifier, Mailer
from services.operations import NO_OBSERVER, AuditLog, Liveness, Metrics, audit_key
from services.passwordless import SmsSender
from services.pictures import ObjectStorage
from services.users import UserStore
from services.wiring.accounts import Accounts, build_accounts
from services.wiring.admin import Admin, build_admin
from services.wiring.checks import Checks, build_checks
from services.wiring.executors import Executors, build_executors
from services.wiring.hooks import Hooks, Webhooks, build_hooks, build_webhooks
from services.wiring.limits import Limits, build_limits
from services.wiring.mail import Mail, build_mail
from services.wiring.mfa import Mfa, build_mfa
from services.wiring.operations import Operations, build_operations
from services.wiring.passwordless import Passwordless, build_codes, build_passwordless
from services.wiring.pictures import Pictures, build_pictures
from services.wiring.resource_servers import ResourceServers, build_resource_servers
from services.wiring.sessions import Sessions, build_sessions
from services.wiring.social import Social, build_social
from services.wiring.tokens import Tokens, build_tokens
from services.wiring.users import build_users

__all__ = ["Accounts", "Admin", "Checks", "Executors", "Hooks", "Limits", "Mail", "Mfa", "Operations", "Passwordless",
           "Pictures", "ResourceServers", "Services", "Sessions", "Social", "Tokens", "Webhooks", "build_executors",
           "build_services", "start_services", "stop_services"]


@dataclass(frozen=True)
class Services:
    config: Config
    redis: Any
    database: Any
    indexes: IndexBuild
    users: UserStore
    tokens: Tokens
    limits: Limits
    sessions: Sessions
    mail: Mail
    pictures: Pictures
    social: Social
    accounts: Accounts
    operations: Operations
    hooks: Hooks
    webhooks: Webhooks
    admin: Admin
    checks: Checks
    passwordless: Passwordless
    mfa: Mfa
    resource_servers: ResourceServers


def build_services(config: Config, database: Any, redis: Any, executors: Executors | None = None,
                   mailer: Mailer | None = None, notifier: AccountNotifier | None = None,
                    storage: ObjectStorage | None = None, liveness: Liveness | None = None,
                    sms_sender: SmsSender | None = None) -> Services:
    """`executors`: the process's thread pools (build_executors; none: the loop's default executor).
    `mailer`, `notifier`, `storage` and `sms_sender` replace the ones the config names (tests); `liveness` is the
    runtime's, shared with the processes it forks (a fresh one, always alive, elsewhere)."""
    executors = executors or Executors()
    observer = Metrics(directory=config.metrics_path) if config.metrics_enabled else NO_OBSERVER
    server_key = audit_key(config.audit_hmac_key, Path(config.data_dir))
    audit = AuditLog(key=server_key)
    indexes = IndexBuild(database=database, timeout=config.mongo_timeout_seconds, where=mongo_hosts(config.mongo_url))
    hooks = build_hooks(config=config)
    users = build_users(config=config, database=database, redis=redis, indexes=indexes, gate=hooks.auth)
    tokens = build_tokens(config=config, redis=redis, users=users, executor=executors.cpu, observer=observer)
    checks = build_checks(config=config)
    limits = build_limits(config=config, redis=redis, observer=observer, captcha=checks.captcha)
    sessions = build_sessions(config=config, redis=redis, users=users, tokens=tokens, audit=audit,
                              observer=observer, claims_hook=hooks.auth)
    codes = build_codes(config=config, redis=redis, users=users, secret=server_key)
    mail = build_mail(config=config, redis=redis, users=users, tokens=tokens, mailer=mailer or hooks.mailer,
                      sign_in=codes.delivery)
    pictures = build_pictures(config=config, database=database, indexes=indexes, users=users, audit=audit,
                              executors=executors, storage=storage)
    social = build_social(config=config, redis=redis, database=database, indexes=indexes, users=users,
                          sessions=sessions, audit=audit)
    mfa = build_mfa(config=config, redis=redis, database=database, indexes=indexes, users=users, limits=limits,
                    sessions=sessions, mail=mail, social=social, audit=audit, observer=observer,
                    executor=executors.cpu)
    accounts = build_accounts(config=config, users=users, tokens=tokens, limits=limits, sessions=sessions, mail=mail,
                              pictures=pictures, social=social, mfa=mfa, audit=audit, observer=observer,
                              executor=executors.cpu, strength_executor=executors.strength,
                              notifier=notifier, checks=checks)
    passwordless = build_passwordless(config=config, redis=redis, users=users, codes=codes, limits=limits,
                                      sessions=sessions, mail=mail, social=social, accounts=accounts, checks=checks,
                                      audit=audit, sms_sender=sms_sender or hooks.sms)
    webhooks = build_webhooks(config=config, redis=redis, users=users, audit=audit, observer=observer, hooks=hooks)
    admin = build_admin(config=config, redis=redis, users=users, sessions=sessions, accounts=accounts, mail=mail,
                        audit=audit, audit_key=server_key, second_factors=mfa.factors)
    operations = build_operations(config=config, redis=redis, database=database, indexes=indexes, tokens=tokens,
                                  mail=mail, audit=audit, observer=observer, liveness=liveness or Liveness(),
                                  webhooks=webhooks.outbox if config.webhooks else None)
    resource_servers = build_resource_servers(config=config, redis=redis, tokens=tokens, sessions=sessions,
                                              admin_keys=admin.keys)
    return Services(config=config, redis=redis, database=database, indexes=indexes, users=users, tokens=tokens,
                    limits=limits, sessions=sessions, mail=mail, pictures=pictures, social=social, accounts=accounts,
                    operations=operations, hooks=hooks, webhooks=webhooks, admin=admin, checks=checks,
                    passwordless=passwordless, mfa=mfa, resource_servers=resource_servers)


async def start_services(services: Services, on_fatal: Callable[[IndexBuildFailed], None] | None = None) -> None:
    """Start-up I/O, done once: indexes and the first read of the key ring; then the background jobs.

    A MongoDB that cannot be reached does not stop the start (its indexes are retried in the background); one whose
    indexes cannot be made as this version needs raises IndexBuildFailed here, or later calls `on_fatal`.
    """
    await check_redis_mode(services.redis)
    await services.indexes.start(on_fatal)
    await services.tokens.keyring.reload()
    services.tokens.keyring.start_watching(services.config.jwt_keys_reload_seconds)
    services.pictures.manager.start_sweeping()
    services.mail.worker.start()
    services.webhooks.worker.start()
    services.passwordless.worker.start()


async def stop_services(services: Services) -> None:
    await services.webhooks.publisher.stop()  # what was recorded is queued before the process ends
    await services.webhooks.worker.stop()
    await services.mail.worker.stop()
    await services.passwordless.worker.stop()
    await services.tokens.keyring.stop_watching()
    await services.pictures.manager.stop_sweeping()
    await services.pictures.storage.close()
    services.social.sign_in.close()
    services.hooks.poster.close()
    services.checks.close()
    await services.indexes.stop()
    await services.sessions.reads.close()
    await services.redis.aclose()
    await services.database.client.close()
    services.operations.observer.close()
