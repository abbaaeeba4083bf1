"""The account use cases behind the API: sign up, log in, refresh, authenticate, change name/email/password."""

from __future__ import annotations

import asyncio
import logging
import unicodedata
from dataclasses import dataclass
from typing import Any

from pymongo.errors import ConnectionFailure

from services.epochs import TokenEpochs
from services.errors import (
    FRESH_TOKEN_REQUIRED,
    INVALID_CREDENTIALS,
    INVALID_NAME,
    SIGNUP_DISABLED,
    TOKEN_REVOKED,
    AuthError,
    ServiceUnavailable,
)
from services.passwords import PasswordHasher, PasswordPolicy
from services.tokens import Claims, IssuedToken, TokenService, TokenType
from services.users import User, UserStore, normalize_email

log = logging.getLogger("auth.accounts")
MAX_NAME_LENGTH = 200


@dataclass(frozen=True)
class TokenPair:
    access: IssuedToken
    refresh: IssuedToken


@dataclass(frozen=True)
class Identity:
    """An authenticated caller: the verified claims and the user they belong to, loaded once."""

    claims: Claims
    user: User


def clean_name(name: str) -> str:
    name = unicodedata.normalize("NFC", name).strip()
    if not name or len(name) > MAX_NAME_LENGTH or any(unicodedata.category(ch).startswith("C") for ch in name):
        raise AuthError(INVALID_NAME)
    return name


class AccountService:
    def __init__(self, users: UserStore, epochs: TokenEpochs, tokens: TokenService, hasher: PasswordHasher,
                 policy: PasswordPolicy, disable_signup: bool, retry_after: int) -> None:
        self._users = users
        self._epochs = epochs
        self._tokens = tokens
        self._hasher = hasher
        self._policy = policy
        self._disable_signup = disable_signup
        self._retry_after = retry_after

    async def signup(self, name: str, email: str, password: str) -> User:
        if self._disable_signup:
            raise AuthError(SIGNUP_DISABLED)
        name, email = clean_name(name), normalize_email(email)
        self._policy.check(password)
        password_hash = await self._hasher.hash(password)
        user = await self._store(self._users.create(email, name, password_hash))
        log.info("signup uid=%s", user.uid)
        return user

    async def login(self, email: str, password: str, fresh: bool) -> tuple[User, TokenPair]:
        try:
            email = normalize_email(email)
        except AuthError:
            email = ""
        user = await self._store(self._users.find_by_email(email)) if email else None
        if len(password) > self._policy.max_length:
            password = ""  # refuse without hashing megabytes, at the same cost as any wrong password
        ok = await self._hasher.verify(password, user.password_hash if user else None)
        if not ok or user is None:
            log.info("login failed")
            raise AuthError(INVALID_CREDENTIALS)
        epoch = await self._current_epoch(user)
        log.info("login uid=%s fresh=%s", user.uid, fresh)
        return user, self._issue_pair(user.uid, epoch, fresh)

    async def refresh(self, refresh_token: str | None) -> IssuedToken:
        identity = await self.authenticate(refresh_token, "refresh_token")
        return self._tokens.issue(identity.user.uid, "access_token", identity.claims.epoch)

    async def authenticate(self, token: str | None, token_type: TokenType = "access_token") -> Identity:  # noqa: S107
        """Verify the token, then check it against the user's epoch: one Redis GET and one user read."""
        claims = self._tokens.verify(token, token_type)
        # The two reads are independent: wait for both at once rather than one after the other.
        cached, user = await asyncio.gather(self._epochs.cached(claims.subject),
                                            self._store(self._users.find_by_uid(claims.subject)))
        if user is None:
            raise AuthError(TOKEN_REVOKED)
        current = cached if cached is not None else await self._epochs.raise_to(user.uid, user.token_epoch)
        if claims.epoch < max(current, user.token_epoch):
            raise AuthError(TOKEN_REVOKED)
        return Identity(claims=claims, user=user)

    async def change_name(self, identity: Identity, name: str) -> User:
        return await self._update(identity.user.uid, {"name": clean_name(name)}, bump_epoch=False)

    async def change_email(self, identity: Identity, email: str) -> User:
        email = normalize_email(email)
        if email == identity.user.email:
            return identity.user
        user = await self._update(identity.user.uid, {"email": email, "email_verified": False}, bump_epoch=True)
        log.info("email changed uid=%s", user.uid)
        return user

    async def change_password(self, identity: Identity, password: str) -> TokenPair:
        """Needs a fresh token; ends every other token and hands the caller a new pair to carry on with."""
        if not identity.claims.fresh:
            raise AuthError(FRESH_TOKEN_REQUIRED)
        self._policy.check(password)
        password_hash = await self._hasher.hash(password)
        user = await self._update(identity.user.uid, {"password_hash": password_hash}, bump_epoch=True)
        log.info("password changed uid=%s", user.uid)
        return self._issue_pair(user.uid, user.token_epoch, fresh=True)

    def _issue_pair(self, uid: str, epoch: int, fresh: bool) -> TokenPair:
        return TokenPair(access=self._tokens.issue(uid, "access_token", epoch, fresh=fresh),
                         refresh=self._tokens.issue(uid, "refresh_token", epoch))

    async def _current_epoch(self, user: User) -> int:
        cached = await self._epochs.cached(user.uid)
        return max(cached or 0, user.token_epoch)

    async def _update(self, uid: str, changes: dict[str, Any], bump_epoch: bool) -> User:
        if bump_epoch:
            await self._epochs.forget(uid)
        user = await self._store(self._users.update(uid, changes, bump_epoch=bump_epoch))
        if user is None:
            raise AuthError(TOKEN_REVOKED)
        if bump_epoch:
            await self._epochs.raise_to(uid, user.token_epoch)
        return user

    async def _store(self, operation: Any) -> Any:
        """Await a MongoDB operation; an unreachable database is a 503, not a 500."""
        try:
            return await operation
        except ConnectionFailure as exc:
            log.warning("MongoDB unreachable: %s", exc)
            raise ServiceUnavailable(self._retry_after) from exc
