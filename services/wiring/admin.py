"""The admin domain's parts: the keys, the user operations they authorize, the import, the per-key quota."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.admin import AdminKeys, AdminUsers, SecondFactorReset, admin_key_secret
from services.config import Config, Rate
from services.imports import UserImport
from services.limits import RateLimiter
from services.operations import AuditLog
from services.users import UserStore
from services.wiring.accounts import Accounts
from services.wiring.mail import Mail
from services.wiring.sessions import Sessions


@dataclass(frozen=True)
class Admin:
    keys: AdminKeys
    users: AdminUsers
    imports: UserImport
    limiter: RateLimiter
    rate: Rate  # RATE_LIMIT_ADMIN, per key


def build_admin(*, config: Config, redis: Any, users: UserStore, sessions: Sessions, accounts: Accounts, mail: Mail,
                audit: AuditLog, audit_key: bytes, second_factors: SecondFactorReset | None = None) -> Admin:
    return Admin(
        keys=AdminKeys(redis=redis, secret=admin_key_secret(config.admin_key_secret, audit_key)),
        users=AdminUsers(users=users, sessions=sessions.manager, lifecycle=accounts.lifecycle,
                         hasher=accounts.hasher, policy=accounts.policy, outbox=mail.outbox, audit=audit,
                         page_max=config.admin_page_max, second_factors=second_factors),
        imports=UserImport(users=users, audit=audit),
        limiter=RateLimiter(redis=redis),
        rate=config.rate_limit_admin)
