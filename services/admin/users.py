"""The admin API's user operations: list and page, read, create (with an invitation), change, delete, and the
user's sessions, each on behalf of an admin key and audited with its name.

Every change that affects tokens takes effect on the user's very next request, as the user's own changes do: a
new address, a new password or disabling the account is written together with the user's epoch in one MongoDB
write (SessionService.end_all), which ends every token issued so far and every session. A change of
`app_metadata` reaches the access tokens made from then on: the next refresh (services/sessions/access.py).
Deletion is the user's own deletion (AccountLifecycle.delete): picture, identities, document, Redis keys, notice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from services.accounts import AccountLifecycle, PasswordHasher, PasswordPolicy
from services.admin.keys import AdminKey
from services.context import Client
from services.infra import Outbox
from services.mail import EmailChanged, Invitation, MailMessage, PasswordChanged
from services.operations import AuditLog
from services.outcomes import USER_NOT_FOUND, AuthError
from services.sessions import Session, SessionService
from services.users import PageRequest, Position, User, UserStore, clean_name, metadata_object, normalize_email

DEFAULT_PAGE = 50


@dataclass(frozen=True)
class NewUser:
    email: str
    name: str
    password: str | None = None
    email_verified: bool = False
    app_metadata: dict[str, Any] | None = None
    user_metadata: dict[str, Any] | None = None
    send_invite: bool = True  # only without a password


@dataclass(frozen=True)
class UserChanges:
    """What a PATCH sets; None: left as it is."""

    name: str | None = None
    email: str | None = None
    email_verified: bool | None = None
    password: str | None = None
    app_metadata: dict[str, Any] | None = None
    user_metadata: dict[str, Any] | None = None
    disabled: bool | None = None


class SecondFactorReset(Protocol):
    """The second factors' reset (services/mfa): `DELETE /admin/users/<uid>/mfa`, as `users mfa-reset` does."""

    async def reset(self, user: User) -> int:
        """Remove every factor, passkey and recovery code of `user` and end its sessions; how many factors."""
        ...


class AdminUsers:
    def __init__(self, *, users: UserStore, sessions: SessionService, lifecycle: AccountLifecycle,
                 hasher: PasswordHasher, policy: PasswordPolicy, outbox: Outbox[MailMessage], audit: AuditLog,
                 page_max: int, second_factors: SecondFactorReset | None = None) -> None:
        self._users = users
        self._sessions = sessions
        self._lifecycle = lifecycle
        self._hasher = hasher
        self._policy = policy
        self._outbox = outbox
        self._audit = audit
        self._page_max = page_max
        self.second_factors = second_factors

    async def page(self, *, email: str | None, query: str | None, limit: int | None,
                   cursor: str | None) -> tuple[list[User], str | None]:
        """One page, and the cursor of the next (None on the last page)."""
        size = max(1, min(limit or DEFAULT_PAGE, self._page_max))
        request = PageRequest(limit=size + 1, after=Position.from_cursor(cursor) if cursor else None,
                              email=normalize_email(email) if email else None, query=query or None)
        users = await self._users.page(request)
        if len(users) <= size:
            return users, None
        last = users[size - 1]
        return users[:size], Position(last.created_at, last.uid).cursor()

    async def get(self, uid: str) -> User:
        user = await self._users.find_by_uid(uid)
        if user is None:
            raise AuthError(USER_NOT_FOUND)
        return user

    async def create(self, new: NewUser, key: AdminKey, client: Client) -> User:
        name, email = clean_name(new.name), normalize_email(new.email)
        app_metadata = metadata_object(new.app_metadata, "app_metadata") if new.app_metadata is not None else None
        user_metadata = metadata_object(new.user_metadata, "user_metadata") if new.user_metadata is not None else None
        password_hash = ""
        if new.password is not None:
            await self._policy.check(new.password, email, name)
            password_hash = await self._hasher.hash(new.password)
        user = await self._users.create(email, name, password_hash, email_verified=new.email_verified, method="admin",
                                        app_metadata=app_metadata, user_metadata=user_metadata)
        self._audit.record("account.created", uid=user.uid, ip=client.ip, admin_key=key.name, method="admin")
        if new.password is None and new.send_invite:
            await self._outbox.enqueue(Invitation(uid=user.uid))
        return user

    async def update(self, uid: str, changes: UserChanges, key: AdminKey, client: Client) -> User:
        user = await self.get(uid)
        values = await self._stored_values(user, changes)
        if not values:
            return user
        ends_tokens = {"email", "password_hash"} & values.keys() or values.get("disabled") is True
        if ends_tokens:
            updated = await self._sessions.end_all(uid, values)
        else:
            updated = await self._users.update(uid, values) or user
        self._record_changes(user, updated, values, key, client)
        if "password_hash" in values:
            await self._outbox.enqueue(PasswordChanged(uid=uid))
        if "email" in values:
            await self._outbox.enqueue(EmailChanged(uid=uid, old_email=user.email))
        return updated

    async def _stored_values(self, user: User, changes: UserChanges) -> dict[str, Any]:
        values: dict[str, Any] = {}
        if changes.name is not None:
            values["name"] = clean_name(changes.name)
        if changes.email is not None and normalize_email(changes.email) != user.email:
            # An address an admin gives is not proven by its owner: unverified unless the same change says so.
            values.update(email=normalize_email(changes.email), email_verified=False, email_change=None)
        if changes.email_verified is not None:
            values["email_verified"] = changes.email_verified
        if changes.password is not None:
            await self._policy.check(changes.password, values.get("email", user.email), values.get("name", user.name))
            values["password_hash"] = await self._hasher.hash(changes.password)
        for field in ("app_metadata", "user_metadata"):
            value = getattr(changes, field)
            if value is not None:
                values[field] = metadata_object(value, field)
        if changes.disabled is not None and changes.disabled != user.disabled:
            values["disabled"] = changes.disabled
        return values

    def _record_changes(self, before: User, after: User, values: dict[str, Any], key: AdminKey,
                        client: Client) -> None:
        who = {"uid": after.uid, "ip": client.ip, "admin_key": key.name}
        fields = sorted(name for name in values if name not in ("password_hash", "email_change"))
        if "password_hash" in values:
            fields = sorted([*fields, "password"])
        self._audit.record("account.updated", **who, fields=fields)
        if "email" in values:
            self._audit.record("email.changed", **who)
        if "password_hash" in values:
            self._audit.record("password.changed", **who)
        if "disabled" in values:
            self._audit.record("account.disabled" if after.disabled else "account.enabled", **who)

    async def delete(self, uid: str, key: AdminKey, client: Client) -> None:
        user = await self.get(uid)
        self._audit.record("admin.user_deleted", uid=uid, ip=client.ip, admin_key=key.name)
        await self._lifecycle.delete(user, ip=client.ip)

    async def sessions(self, uid: str) -> list[Session]:
        await self.get(uid)
        return await self._sessions.list(uid)

    async def end_sessions(self, uid: str, key: AdminKey, client: Client) -> None:
        await self.get(uid)
        await self._sessions.end_all(uid)
        self._audit.record("sessions.ended", uid=uid, ip=client.ip, admin_key=key.name)

    async def reset_second_factors(self, uid: str, key: AdminKey, client: Client) -> int:
        """A user who lost every second factor and recovery code, once the operator has proven who they are: every
        factor and passkey goes, every session ends, and the owner is told by mail (services/mfa)."""
        user = await self.get(uid)
        if self.second_factors is None:
            return 0
        removed = await self.second_factors.reset(user)
        self._audit.record("mfa.reset_by_admin", uid=uid, ip=client.ip, admin_key=key.name, factors=removed)
        return removed
