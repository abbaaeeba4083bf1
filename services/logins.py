"""Logins and what hangs off them: sessions, token issue and refresh rotation, authentication, logout.

Every token is bound to a session (`sid`) and to its user's epoch. A token is good while its
signature and claims check out, its session still exists and its epoch is not older than the user's:
one Redis MGET and one user read per authenticated request.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from services.audit import AuditLog, account_ref
from services.epochs import TokenEpochs
from services.errors import (
    EMAIL_NOT_VERIFIED,
    INVALID_CREDENTIALS,
    SESSION_NOT_FOUND,
    TOKEN_REVOKED,
    USER_DISABLED,
    AuthError,
)
from services.mongo_guard import mongo_guarded
from services.observer import NO_OBSERVER, Observer
from services.passwords import PasswordHasher
from services.sessions import Rotation, Session, SessionStore
from services.throttle import Throttle
from services.tokens import Claims, IssuedToken, TokenService, TokenType
from services.users import User, UserStore, normalize_email

log = logging.getLogger("auth.logins")


@dataclass(frozen=True)
class Client:
    """Where a request came from, as the handler resolved it."""

    ip: str
    user_agent: str = ""


@dataclass(frozen=True)
class TokenPair:
    access: IssuedToken
    refresh: IssuedToken


@dataclass(frozen=True)
class Identity:
    """An authenticated caller: the verified claims and the user they belong to, loaded once."""

    claims: Claims
    user: User


class LoginService:
    def __init__(self, users: UserStore, epochs: TokenEpochs, sessions: SessionStore, tokens: TokenService,
                 hasher: PasswordHasher, throttle: Throttle, audit: AuditLog, max_password_length: int,
                 retry_after: int, verification_required: bool = False, observer: Observer = NO_OBSERVER) -> None:
        self._users = users
        self._epochs = epochs
        self._sessions = sessions
        self._tokens = tokens
        self._hasher = hasher
        self._throttle = throttle
        self._audit = audit
        self._max_password_length = max_password_length
        self._retry_after = retry_after
        self._verification_required = verification_required
        self._observer = observer

    # --- login and refresh --------------------------------------------------------------------------

    async def login(self, email: str, password: str, fresh: bool, client: Client,
                    known_token: str | None = None) -> tuple[User, TokenPair]:
        try:
            result = await self._login(email, password, fresh, client, known_token)
        except AuthError as exc:
            self._observer.login_finished(exc.code)
            raise
        self._observer.login_finished("success")
        return result

    async def _login(self, email: str, password: str, fresh: bool, client: Client,
                     known_token: str | None) -> tuple[User, TokenPair]:
        account = _account_name(email)
        try:
            await self._throttle.check_account(account)
        except AuthError:
            if not await self._is_known_session(known_token, account):
                self._audit.record("login.limited", ip=client.ip, account=account_ref(account))
                raise
        user = await self.store(self._users.find_by_email(account)) if "@" in account else None
        # Unknown accounts cost a bcrypt check too, and over-long input is refused at that same cost.
        candidate = password if len(password) <= self._max_password_length else ""
        if not await self._hasher.verify(candidate, user.password_hash if user else None) or user is None:
            failures = await self._throttle.login_failed(account)
            # The uid, when the account exists, lets an operator see who is under attack; the log still
            # never holds the address that was typed.
            self._audit.record("login.failed", uid=user.uid if user else None, ip=client.ip,
                               account=account_ref(account), failures=failures)
            raise AuthError(INVALID_CREDENTIALS)
        if user.disabled:  # told only to someone who knows the password
            self._audit.record("login.disabled", uid=user.uid, ip=client.ip)
            raise AuthError(USER_DISABLED)
        await self._throttle.login_succeeded(account)
        # Only after the password checked out, so it tells a stranger nothing about the address.
        if self._verification_required and not user.email_verified:
            self._audit.record("login.unverified", uid=user.uid, ip=client.ip)
            raise AuthError(EMAIL_NOT_VERIFIED)
        pair, session = await self.start_session(user, fresh, client)
        self._audit.record("login.ok", uid=user.uid, sid=session.id, ip=client.ip, fresh=fresh)
        return user, pair

    async def refresh(self, refresh_token: str | None, client: Client) -> TokenPair:
        """Rotate the refresh token; see services/sessions.py for the reuse rules."""
        try:
            pair = await self._refresh(refresh_token, client)
        except AuthError as exc:
            self._observer.refresh_finished(exc.code)
            raise
        self._observer.refresh_finished("success")
        return pair

    async def _refresh(self, refresh_token: str | None, client: Client) -> TokenPair:
        identity = await self.authenticate(refresh_token, "refresh_token")
        claims, user = identity.claims, identity.user
        rotation, current_jti = await self._sessions.rotate(
            user.uid, claims.session_id, claims.token_id, str(uuid.uuid4()), client.ip, client.user_agent)
        if rotation in (Rotation.REUSED, Rotation.MISSING):
            if rotation is Rotation.REUSED:
                log.warning("refresh token reuse: session %s of user %s ended", claims.session_id, user.uid)
                self._audit.record("refresh.reuse_detected", uid=user.uid, sid=claims.session_id, ip=client.ip)
            raise AuthError(TOKEN_REVOKED)
        await self._throttle.login_succeeded(user.email)
        self._audit.record("refresh", uid=user.uid, sid=claims.session_id, ip=client.ip,
                           replayed=rotation is Rotation.REPLAYED)
        epoch = claims.epoch
        return TokenPair(
            access=self._tokens.issue(user.uid, "access_token", epoch, claims.session_id),
            refresh=self._tokens.issue(user.uid, "refresh_token", epoch, claims.session_id, token_id=current_jti),
        )

    async def start_session(self, user: User, fresh: bool, client: Client) -> tuple[TokenPair, Session]:
        epoch = await self._current_epoch(user)
        refresh_jti = str(uuid.uuid4())
        session = await self._sessions.create(user.uid, refresh_jti, client.ip, client.user_agent)
        pair = TokenPair(
            access=self._tokens.issue(user.uid, "access_token", epoch, session.id, fresh=fresh),
            refresh=self._tokens.issue(user.uid, "refresh_token", epoch, session.id, token_id=refresh_jti),
        )
        return pair, session

    # --- authentication -----------------------------------------------------------------------------

    async def authenticate(self, token: str | None, token_type: TokenType = "access_token") -> Identity:  # noqa: S107
        claims = self._tokens.verify(token, token_type)
        # Independent reads at the same time: the MGET of epoch and session runs as a task while the user read
        # is awaited in place. One task per request, not gather's two plus its gathering future (profiled:
        # bench/README.md).
        state_read = asyncio.ensure_future(self._sessions.token_state(claims.subject, claims.session_id))
        try:
            user = await self.store(self._users.find_by_uid(claims.subject))
        except BaseException:
            state_read.add_done_callback(_outcome_retrieved)  # it finishes on its own; asyncio logs nothing
            raise
        state = await state_read
        if user is None or user.disabled or not state.session_alive:
            raise AuthError(TOKEN_REVOKED)
        current = state.epoch if state.epoch is not None else await self._epochs.raise_to(user.uid, user.token_epoch)
        if claims.epoch < max(current, user.token_epoch):
            raise AuthError(TOKEN_REVOKED)
        return Identity(claims=claims, user=user)

    async def _is_known_session(self, token: str | None, account: str) -> bool:
        """Whether the request carries a live token of `account`: the owner's own device.

        A refresh token counts only while its session would still refresh with it: one rotated out twice
        is a copy the owner no longer holds (a stolen one, at best), and must not unlock guessing.
        """
        if not token:
            return False
        for token_type in ("access_token", "refresh_token"):
            try:
                identity = await self.authenticate(token, token_type)  # type: ignore[arg-type]
            except AuthError:
                continue
            if identity.user.email != account:
                return False
            claims = identity.claims
            if claims.token_type == "access_token":  # noqa: S105 (a token kind, not a secret)
                return True
            return await self._sessions.accepts(identity.user.uid, claims.session_id, claims.token_id)
        return False

    # --- sessions and logout ------------------------------------------------------------------------

    async def sessions(self, identity: Identity) -> list[Session]:
        return await self.sessions_of(identity.user.uid)

    async def sessions_of(self, uid: str) -> list[Session]:
        return await self._sessions.list(uid)

    async def end_session(self, identity: Identity, session_id: str, ip: str) -> None:
        if not await self._sessions.revoke(identity.user.uid, session_id):
            raise AuthError(SESSION_NOT_FOUND)
        self._audit.record("session.revoked", uid=identity.user.uid, sid=session_id, ip=ip)

    async def logout(self, identity: Identity, ip: str) -> None:
        await self._sessions.revoke(identity.user.uid, identity.claims.session_id)
        self._audit.record("logout", uid=identity.user.uid, sid=identity.claims.session_id, ip=ip)

    async def logout_everywhere(self, identity: Identity, ip: str) -> None:
        await self.end_all_sessions(identity.user.uid)
        self._audit.record("logout.all", uid=identity.user.uid, sid=identity.claims.session_id, ip=ip)

    async def end_all_sessions(self, uid: str, changes: dict[str, Any] | None = None) -> User:
        """Apply `changes` to the user and end every token issued so far, in that one write.

        The cached epoch is dropped first, so a failure between the two stores falls back to MongoDB's
        newer value rather than leaving the old one in Redis.
        """
        await self._epochs.forget(uid)
        user = await self.store(self._users.update(uid, changes or {}, bump_epoch=True))
        if user is None:
            raise AuthError(TOKEN_REVOKED)
        await self._epochs.raise_to(uid, user.token_epoch)
        await self._sessions.revoke_all(uid)
        return user

    async def forget_user(self, uid: str) -> None:
        """Drop every Redis key of a deleted user: sessions, epoch and any other `auth:{<uid>}:*` state."""
        await self._sessions.forget_user(uid)

    async def end_everyones_sessions(self) -> int:
        """Every token of every user stops working: tokens are only good while their session lives."""
        ended = await self._sessions.revoke_everyone()
        self._audit.record("sessions.revoked_all", ended=ended)
        return ended

    async def _current_epoch(self, user: User) -> int:
        cached = await self._epochs.cached(user.uid)
        return max(cached or 0, user.token_epoch)

    async def store(self, operation: Any) -> Any:
        """Await a MongoDB operation; an unreachable database is a 503, not a 500."""
        return await mongo_guarded(operation, self._retry_after)


def _outcome_retrieved(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()


def _account_name(email: str) -> str:
    """The normalized address, or the raw text folded when it is not an address (still counted and locked)."""
    try:
        return normalize_email(email)
    except AuthError:
        return email.strip().lower()[:320]
