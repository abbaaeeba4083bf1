"""Sessions as the API and the operator see them: start one at a login, list them, end one, all, or everyone's.

A session is one login on one device (services/sessions/store.py keeps its record in Redis). Every token is
bound to a session (`sid`) and to its user's epoch (services/sessions/epochs.py): ending the session, or
raising the epoch, ends the token on its very next request.
"""

from __future__ import annotations

import uuid
from typing import Any

from services.context import Caller, Client, TokenPair
from services.operations import AuditLog
from services.outcomes import SESSION_NOT_FOUND, TOKEN_REVOKED, AuthError
from services.sessions.access import AccessTokens
from services.sessions.epochs import TokenEpochs
from services.sessions.store import Session, SessionStore
from services.tokens import PASSWORD, Assurance, TokenService
from services.users import User, UserStore

PASSWORD_LOGIN = Assurance.single(PASSWORD)


class SessionService:
    def __init__(self, *, users: UserStore, store: SessionStore, epochs: TokenEpochs, tokens: TokenService,
                 audit: AuditLog, access: AccessTokens | None = None) -> None:
        self._users = users
        self._access = access or AccessTokens(tokens=tokens)
        self._store = store
        self._epochs = epochs
        self._tokens = tokens
        self._audit = audit

    async def start(self, user: User, fresh: bool, client: Client,
                    assurance: Assurance = PASSWORD_LOGIN) -> tuple[TokenPair, Session]:
        """A new session for `user`, and the first token pair bound to it (a login of any kind: `assurance` says
        how the user proved who they are; the session keeps it for its refreshes).

        The tokens are signed first: a login refused for want of a signing key leaves no session behind. A login
        past `SESSION_MAX_PER_USER` ends the user's oldest sessions in the same step."""
        epoch = await self._current_epoch(user)
        sid, refresh_jti = uuid.uuid4().hex, str(uuid.uuid4())
        pair = await self._pair(user, epoch, sid, refresh_jti, fresh, assurance)
        created = await self._store.create(user.uid, sid, refresh_jti, client.ip, client.user_agent, assurance)
        for ended in created.ended:
            self._audit.record("session.evicted", uid=user.uid, sid=ended, ip=client.ip, by=sid)
        return pair, created.session

    async def elevate(self, caller: Caller, assurance: Assurance, client: Client) -> TokenPair:
        """Raise the caller's own session to `assurance` (a second factor proven in it) and hand out tokens of that
        level; the session's refresh token from before stops working (services/sessions/scripts.py ELEVATE)."""
        refresh_jti = str(uuid.uuid4())
        pair = await self._pair(caller.user, caller.claims.epoch, caller.session_id, refresh_jti, caller.claims.fresh,
                                assurance)
        if not await self._store.elevate(caller.uid, caller.session_id, refresh_jti, assurance):
            raise AuthError(TOKEN_REVOKED)
        self._audit.record("session.elevated", uid=caller.uid, sid=caller.session_id, ip=client.ip,
                           aal=assurance.aal, amr=list(assurance.amr))
        return pair

    async def _pair(self, user: User, epoch: int, sid: str, refresh_jti: str, fresh: bool,
                    assurance: Assurance) -> TokenPair:
        return TokenPair(
            access=await self._access.issue(user, epoch, sid, fresh=fresh, assurance=assurance),
            refresh=self._tokens.issue(user.uid, "refresh_token", epoch, sid, token_id=refresh_jti),
            assurance=assurance,
        )

    async def list(self, uid: str) -> list[Session]:
        return await self._store.list(uid)

    async def end(self, caller: Caller, session_id: str, ip: str) -> None:
        """End one of the caller's sessions (a lost phone)."""
        if not await self._store.revoke(caller.uid, session_id):
            raise AuthError(SESSION_NOT_FOUND)
        self._audit.record("session.revoked", uid=caller.uid, sid=session_id, ip=ip)

    async def logout(self, caller: Caller, ip: str) -> None:
        await self._store.revoke(caller.uid, caller.session_id)
        self._audit.record("logout", uid=caller.uid, sid=caller.session_id, ip=ip)

    async def logout_everywhere(self, caller: Caller, ip: str) -> None:
        await self.end_all(caller.uid)
        self._audit.record("logout.all", uid=caller.uid, sid=caller.session_id, ip=ip)

    async def end_all(self, uid: str, changes: dict[str, Any] | None = None) -> User:
        """Apply `changes` to the user and end every token issued so far, in that one write.

        The cached epoch is dropped first, so a failure between the two stores falls back to MongoDB's
        newer value rather than leaving the old one in Redis.
        """
        await self._epochs.forget(uid)
        user = await self._users.update(uid, changes or {}, bump_epoch=True)
        if user is None:
            raise AuthError(TOKEN_REVOKED)
        await self._epochs.raise_to(uid, user.token_epoch)
        await self._store.revoke_all(uid)
        return user

    async def forget_user(self, uid: str) -> None:
        """Drop every Redis key of a deleted user: sessions, epoch and any other `auth:{<uid>}:*` state."""
        await self._store.forget_user(uid)

    async def end_everyones(self) -> int:
        """Every token of every user stops working: tokens are only good while their session lives."""
        ended = await self._store.revoke_everyone()
        self._audit.record("sessions.revoked_all", ended=ended)
        return ended

    async def _current_epoch(self, user: User) -> int:
        """The epoch new tokens carry, now also in Redis: resource servers in redis mode refuse a token whose
        user has no epoch there (docs/resource-servers.md), so a session never starts without one."""
        return await self._epochs.raise_to(user.uid, user.token_epoch)
