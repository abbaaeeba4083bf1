"""The account's whole lifecycle beyond sign-up: export its data, disable and enable it, delete it for good.

Deleting removes, in this order: the picture object (so a store that is down stops the deletion before
anything is gone: 503, try again), the user's linked social identities, second factors and recovery codes, the user
document (from then on every
token of the user fails, since a token needs its user), and every Redis key of the user (`auth:{<uid>}:*`:
sessions, epoch and whatever per-user state comes later). Then the address is told, through the injected
`AccountNotifier`. Everything before the user document can be done again, so a 503 up to there leaves an
account its owner can still delete; the user document's own delete is repeated once when MongoDB reports a
failure, since the first may have landed (then the second finds nothing, which is the outcome we want).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from services.context import Caller, Client
from services.mail import AccountNotifier
from services.mfa import FactorStore
from services.operations import AuditLog
from services.outcomes import TOKEN_REVOKED, AuthError, ServiceUnavailable
from services.pictures import PictureService
from services.sessions import SessionService, require_step_up
from services.social import IdentityStore
from services.users import User, UserStore, normalize_email

log = logging.getLogger("auth.lifecycle")


class AccountLifecycle:
    def __init__(self, *, users: UserStore, sessions: SessionService, pictures: PictureService,
                 notifier: AccountNotifier, audit: AuditLog, identities: IdentityStore, factors: FactorStore) -> None:
        self._users = users
        self._identities = identities
        self._factors = factors
        self._sessions = sessions
        self._pictures = pictures
        self._notifier = notifier
        self._audit = audit

    # --- the user's own requests ---------------------------------------------------------------------

    async def delete_account(self, caller: Caller, client: Client) -> None:
        """`DELETE /user`: like a password change, only with a token from a `fresh_token: true` login (an anonymous
        account, which has nothing to log in with again, needs none), and aal2 once the user has a second factor."""
        require_step_up(caller)
        await self.delete(caller.user, ip=client.ip, sid=caller.claims.session_id)

    async def export(self, user: User, current_sid: str | None = None) -> dict[str, Any]:
        """Everything stored about the user but the password hash, with the sessions (`GET /user/export`)."""
        document = await self._users.document(user.uid)
        if document is None:
            raise AuthError(TOKEN_REVOKED)
        stored = {"uid": document.pop("_id"), **document}
        sessions = await self._sessions.list(user.uid)
        identities = await self._identities.list(user.uid)
        self._audit.record("account.exported", uid=user.uid, sid=current_sid)
        return {
            "exported_at": int(time.time()),
            "user": stored,
            "picture_url": await self._pictures.url_of(stored.get("picture")),
            "sessions": [session.public(current_sid) for session in sessions],
            "identities": [identity.public() for identity in identities],
        }

    # --- the operator's (python server.py users ...) --------------------------------------------------

    async def find(self, email: str) -> User | None:
        return await self._users.find_by_email(normalize_email(email))

    def each_user(self) -> AsyncIterator[User]:
        return self._users.all()

    async def disable(self, user: User) -> None:
        """No more logins or refreshes, and every token of the user fails at once (all sessions end)."""
        await self._sessions.end_all(user.uid, {"disabled": True})
        self._audit.record("account.disabled", uid=user.uid)

    async def enable(self, user: User) -> None:
        await self._users.update(user.uid, {"disabled": False})
        self._audit.record("account.enabled", uid=user.uid)

    async def delete(self, user: User, ip: str | None = None, sid: str | None = None) -> None:
        if user.picture:
            await self._pictures.remove_object(user.picture)
        await self._identities.unlink_all(user.uid)
        await self._factors.delete_all(user.uid)
        deleted = await self._delete_document(user.uid)
        if deleted is not None and deleted.picture and deleted.picture != user.picture:
            await self._pictures.discard(deleted.picture)  # uploaded while the deletion ran
        try:
            await self._sessions.forget_user(user.uid)
        except ServiceUnavailable:
            # Harmless: with the user gone no token of theirs passes, and the keys expire on their own.
            log.warning("Redis keys of deleted user %s are left to expire", user.uid)
        self._audit.record("account.deleted", uid=user.uid, sid=sid, ip=ip)
        try:
            await self._notifier.account_deleted(user.email, user.name)
        except Exception:  # the account is gone either way; a mail failure must not turn that into an error
            log.exception("could not send the account-deleted notice for user %s", user.uid)

    async def _delete_document(self, uid: str) -> User | None:
        """The user document's delete; a failure MongoDB reports may come after it landed: delete once more."""
        try:
            return await self._users.delete(uid)
        except ServiceUnavailable:
            log.warning("deleting user %s reported a failure; deleting again", uid)
            return await self._users.delete(uid)  # None when the first one landed
