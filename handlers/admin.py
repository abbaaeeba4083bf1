"""The admin API: `/admin/...`, called by the backend's own services with an admin key
(`Authorization: Bearer pja_...`, python server.py admin-keys create), never with a user's token.

Each request names the scope it needs (`users:read`, `users:write`, `sessions:write`), is counted against its
key's quota (RATE_LIMIT_ADMIN) and is audited with the key's name by the service it calls.
"""

from __future__ import annotations

from handlers.base import BaseHandler
from handlers.bodies import JsonBody
from services.admin import AdminKey, NewUser, UserChanges
from services.outcomes import (
    INVALID_FIELD,
    INVALID_IMPORT,
    MFA_RESET,
    NOTHING_TO_CHANGE,
    SESSIONS_ENDED,
    USER_CREATED,
    USER_DELETED,
    USER_UPDATED,
    USERS_IMPORTED,
    AuthError,
)

UID = r"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
CHANGEABLE = ("name", "email", "email_verified", "password", "app_metadata", "user_metadata", "disabled")


class AdminHandler(BaseHandler):
    async def admin_key(self, scope: str) -> AdminKey:
        """The calling key, when it has `scope`; 401, 403 or 429 otherwise (with the RateLimit headers)."""
        admin = self.services.admin
        key = await admin.keys.check(self._presented_key(), scope)
        self._quota_headers = (await admin.limiter.enforce("admin", key.name, admin.rate)).headers()
        for name, value in self._quota_headers.items():
            self.set_header(name, value)
        return key

    def _presented_key(self) -> str | None:
        """`Authorization: Bearer <key>` only: the seed's `python-auth` header carries users' tokens."""
        scheme, _, key = self.request.headers.get("Authorization", "").strip().partition(" ")
        return key.strip() if scheme.lower() == "bearer" and key.strip() else None


class AdminUsersHandler(AdminHandler):
    async def get(self) -> None:
        await self.admin_key("users:read")
        limit = self.get_query_argument("limit", None)
        if limit is not None and not limit.isdigit():
            raise AuthError(INVALID_FIELD, "limit must be a whole number.")
        users, cursor = await self.services.admin.users.page(
            email=self.get_query_argument("email", None) or None, query=self.get_query_argument("query", None),
            limit=int(limit) if limit else None, cursor=self.get_query_argument("cursor", None) or None)
        self.write_json({"status": "success", "users": [user.admin_view() for user in users], "next_cursor": cursor})

    async def post(self) -> None:
        key = await self.admin_key("users:write")
        body = self.json_body()
        new = NewUser(email=body.text("email"), name=body.text("name"), password=body.optional_text("password"),
                      email_verified=body.flag("email_verified"),
                      app_metadata=body.object("app_metadata") if "app_metadata" in body else None,
                      user_metadata=body.object("user_metadata") if "user_metadata" in body else None,
                      send_invite=body.flag("send_invite", default=True))
        user = await self.services.admin.users.create(new, key, self.client)
        self.write_outcome(USER_CREATED, user=user.admin_view())


class AdminUserHandler(AdminHandler):
    async def get(self, uid: str) -> None:
        await self.admin_key("users:read")
        user = await self.services.admin.users.get(uid)
        self.write_json({"status": "success", "user": user.admin_view()})

    async def patch(self, uid: str) -> None:
        key = await self.admin_key("users:write")
        body = self.json_body()
        if not body.names() & set(CHANGEABLE):
            raise AuthError(NOTHING_TO_CHANGE, f"Send at least one of {', '.join(CHANGEABLE)}.")
        user = await self.services.admin.users.update(uid, _changes(body), key, self.client)
        self.write_outcome(USER_UPDATED, user=user.admin_view())

    async def delete(self, uid: str) -> None:
        key = await self.admin_key("users:write")
        await self.services.admin.users.delete(uid, key, self.client)
        self.write_outcome(USER_DELETED)


class AdminUserSessionsHandler(AdminHandler):
    async def get(self, uid: str) -> None:
        await self.admin_key("users:read")
        sessions = await self.services.admin.users.sessions(uid)
        self.write_json({"status": "success", "sessions": [session.public() for session in sessions]})

    async def delete(self, uid: str) -> None:
        key = await self.admin_key("sessions:write")
        await self.services.admin.users.end_sessions(uid, key, self.client)
        self.write_outcome(SESSIONS_ENDED)


class AdminUserMfaHandler(AdminHandler):
    async def delete(self, uid: str) -> None:
        """The owner lost every second factor: they go, with the passkeys and recovery codes; the sessions end."""
        key = await self.admin_key("users:write")
        removed = await self.services.admin.users.reset_second_factors(uid, key, self.client)
        self.write_outcome(MFA_RESET, factors_removed=removed)


class AdminImportHandler(AdminHandler):
    """`POST /admin/users/import`: JSON lines in the body (application/x-ndjson), a report back."""

    async def post(self) -> None:
        key = await self.admin_key("users:write")
        try:
            lines = self.raw_body.decode("utf-8").splitlines()
        except UnicodeDecodeError:
            raise AuthError(INVALID_IMPORT, "The body must be UTF-8 text: one JSON object per line.") from None
        limit = self.services.config.admin_import_max_lines
        if not any(line.strip() for line in lines) or len(lines) > limit:
            raise AuthError(INVALID_IMPORT, f"Send 1 to {limit} JSON lines; for more, several requests or "
                                            "`python server.py users import FILE`.")
        report = await self.services.admin.imports.run(lines, by=f"admin key {key.name}")
        self.write_outcome(USERS_IMPORTED, **report.public())


def _changes(body: JsonBody) -> UserChanges:
    return UserChanges(name=body.optional_text("name"), email=body.optional_text("email"),
                       email_verified=body.optional_flag("email_verified"),
                       password=body.optional_text("password"),
                       app_metadata=body.object("app_metadata") if "app_metadata" in body else None,
                       user_metadata=body.object("user_metadata") if "user_metadata" in body else None,
                       disabled=body.optional_flag("disabled"))
