"""Logging in with an email address and a password (`POST /login`), with a CAPTCHA where `CAPTCHA_LOGIN` asks for one
(services/captcha/login.py)."""

from __future__ import annotations

from services.accounts.passwords import PasswordHasher, PasswordMatch
from services.captcha import LoginCaptcha
from services.context import Client, TokenPair
from services.limits import LockChallenge, RefuseLockedLogins, Throttle
from services.operations import NO_OBSERVER, AuditLog, Observer
from services.outcomes import (
    CAPTCHA_FAILED,
    EMAIL_NOT_VERIFIED,
    INVALID_CREDENTIALS,
    USER_DISABLED,
    AuthError,
    ServiceUnavailable,
)
from services.sessions import Authenticator, SessionService
from services.users import User, UserStore, normalize_email


class PasswordLogin:
    def __init__(self, *, users: UserStore, sessions: SessionService, authenticator: Authenticator,
                 hasher: PasswordHasher, throttle: Throttle, audit: AuditLog, max_password_length: int,
                 verification_required: bool = False, observer: Observer = NO_OBSERVER,
                 challenge: LockChallenge | None = None, captcha: LoginCaptcha | None = None) -> None:
        self._users = users
        self._sessions = sessions
        self._authenticator = authenticator
        self._hasher = hasher
        self._throttle = throttle
        self._audit = audit
        self._max_password_length = max_password_length
        self._verification_required = verification_required
        self._observer = observer
        self._challenge = challenge or RefuseLockedLogins()
        self._captcha = captcha

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
        failures, vouched = await self._reserve_attempt(account, client, known_token)
        try:
            # Past a lock, the lock's challenge checked the CAPTCHA already (or the owner's own token vouched).
            if self._captcha is not None and not vouched:
                await self._captcha.check(failures - 1, client)
            user, match = await self._password_holder(account, password, client, failures)
        except ServiceUnavailable:
            await self._throttle.login_abandoned(account, client.ip)  # an outage is no wrong guess
            raise
        except AuthError as exc:
            if exc.outcome is CAPTCHA_FAILED:  # no password was tried: no failure to count
                await self._throttle.login_abandoned(account, client.ip)
            elif exc.outcome is INVALID_CREDENTIALS and self._captcha is not None:
                await self._captcha.failed(client)
            raise
        await self._throttle.login_succeeded(account, client.ip)
        if user.disabled:  # told only to someone who knows the password
            self._audit.record("login.disabled", uid=user.uid, ip=client.ip)
            raise AuthError(USER_DISABLED)
        if match is PasswordMatch.LEGACY:  # hashed before passwords were NFKC-normalised: store the NFKC form
            await self._rehash(user, password)
        # Only after the password checked out, so it tells a stranger nothing about the address.
        if self._verification_required and not user.email_verified:
            self._audit.record("login.unverified", uid=user.uid, ip=client.ip)
            raise AuthError(EMAIL_NOT_VERIFIED)
        pair, session = await self._sessions.start(user, fresh, client)
        self._audit.record("login.ok", uid=user.uid, sid=session.id, ip=client.ip, fresh=fresh)
        return user, pair

    async def _reserve_attempt(self, account: str, client: Client, known_token: str | None) -> tuple[int, bool]:
        """Count this attempt before its password is checked (so parallel guesses cannot all slip under the limit);
        returns the account's failure count with it, and whether the attempt got past a lock. A lock refuses it,
        unless the caller holds a live session of the account or passes the lock's challenge: then it is counted
        all the same."""
        reservation = await self._throttle.reserve_login(account, client.ip)
        if reservation.lock is None:
            return reservation.failures, False
        holder = await self._authenticator.live_holder(known_token)
        if (holder is None or holder.user.email != account) and not await self._challenge.admits(reservation.lock,
                                                                                                 client):
            self._audit.record("login.limited", ip=client.ip, account=self._audit.account_ref(account),
                               scope=reservation.lock.scope)
            raise self._challenge.refusal(reservation.lock)
        return (await self._throttle.reserve_login(account, client.ip, past_lock=True)).failures, True

    async def _password_holder(self, account: str, password: str, client: Client,
                               failures: int) -> tuple[User, PasswordMatch]:
        """The account's user when `password` is its password, and how it matched; otherwise 401, the attempt
        staying counted."""
        user = await self._users.find_by_email(account) if "@" in account else None
        # Unknown accounts cost a bcrypt check too, and over-long input is refused at that same cost.
        candidate = password if len(password) <= self._max_password_length else ""
        match = await self._hasher.match(candidate, user.password_hash if user else None)
        if match is PasswordMatch.NO or user is None:
            # The uid, when the account exists, lets an operator see who is under attack; the log still
            # never holds the address that was typed.
            self._audit.record("login.failed", uid=user.uid if user else None, ip=client.ip,
                               account=self._audit.account_ref(account), failures=failures)
            raise AuthError(INVALID_CREDENTIALS)
        return user, match

    async def _rehash(self, user: User, password: str) -> None:
        if await self._users.replace_password_hash(user.uid, user.password_hash, await self._hasher.hash(password)):
            self._audit.record("password.rehashed", uid=user.uid)


def _account_name(email: str) -> str:
    """The normalized address, or the raw text folded when it is not an address (still counted and locked)."""
    try:
        return normalize_email(email)
    except AuthError:
        return email.strip().lower()[:320]
