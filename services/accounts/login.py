"""Logging in with an email address and a password (`POST /login`)."""

from __future__ import annotations

from services.accounts.passwords import PasswordHasher, PasswordMatch
from services.context import Client, TokenPair
from services.limits import Throttle
from services.operations import NO_OBSERVER, AuditLog, Observer, account_ref
from services.outcomes import EMAIL_NOT_VERIFIED, INVALID_CREDENTIALS, USER_DISABLED, AuthError
from services.sessions import Authenticator, SessionService
from services.users import User, UserStore, normalize_email


class PasswordLogin:
    def __init__(self, *, users: UserStore, sessions: SessionService, authenticator: Authenticator,
                 hasher: PasswordHasher, throttle: Throttle, audit: AuditLog, max_password_length: int,
                 verification_required: bool = False, observer: Observer = NO_OBSERVER) -> None:
        self._users = users
        self._sessions = sessions
        self._authenticator = authenticator
        self._hasher = hasher
        self._throttle = throttle
        self._audit = audit
        self._max_password_length = max_password_length
        self._verification_required = verification_required
        self._observer = observer

    async def login(self, email: str, password: str, fresh: bool, client: Client,
                    known_token: str | None = None) -> tuple[User, TokenPair]:
        """`known_token`: a token of the account's own live session lets its owner past a lock strangers caused."""
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
            holder = await self._authenticator.live_holder(known_token)
            if holder is None or holder.user.email != account:
                self._audit.record("login.limited", ip=client.ip, account=account_ref(account))
                raise
        user = await self._users.find_by_email(account) if "@" in account else None
        # Unknown accounts cost a bcrypt check too, and over-long input is refused at that same cost.
        candidate = password if len(password) <= self._max_password_length else ""
        match = await self._hasher.match(candidate, user.password_hash if user else None)
        if match is PasswordMatch.NO or user is None:
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
        if match is PasswordMatch.LEGACY:  # hashed before passwords were NFKC-normalised: store the NFKC form
            await self._rehash(user, password)
        # Only after the password checked out, so it tells a stranger nothing about the address.
        if self._verification_required and not user.email_verified:
            self._audit.record("login.unverified", uid=user.uid, ip=client.ip)
            raise AuthError(EMAIL_NOT_VERIFIED)
        pair, session = await self._sessions.start(user, fresh, client)
        self._audit.record("login.ok", uid=user.uid, sid=session.id, ip=client.ip, fresh=fresh)
        return user, pair


    async def _rehash(self, user: User, password: str) -> None:
        if await self._users.replace_password_hash(user.uid, user.password_hash, await self._hasher.hash(password)):
            self._audit.record("password.rehashed", uid=user.uid)


def _account_name(email: str) -> str:
    """The normalized address, or the raw text folded when it is not an address (still counted and locked)."""
    try:
        return normalize_email(email)
    except AuthError:
        return email.strip().lower()[:320]
