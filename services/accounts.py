"""The account itself: sign up, and change name, email or password."""

from __future__ import annotations

import logging
import unicodedata

from services.audit import AuditLog
from services.errors import FRESH_TOKEN_REQUIRED, INVALID_NAME, SIGNUP_DISABLED, AuthError
from services.logins import Client, Identity, LoginService, TokenPair
from services.passwords import PasswordHasher, PasswordPolicy
from services.users import User, UserStore, normalize_email

log = logging.getLogger("auth.accounts")
MAX_NAME_LENGTH = 200


def clean_name(name: str) -> str:
    name = unicodedata.normalize("NFC", name).strip()
    if not name or len(name) > MAX_NAME_LENGTH or any(unicodedata.category(ch).startswith("C") for ch in name):
        raise AuthError(INVALID_NAME)
    return name


class AccountService:
    def __init__(self, users: UserStore, logins: LoginService, hasher: PasswordHasher, policy: PasswordPolicy,
                 audit: AuditLog, disable_signup: bool) -> None:
        self._users = users
        self._logins = logins
        self._hasher = hasher
        self._policy = policy
        self._audit = audit
        self._disable_signup = disable_signup

    async def signup(self, name: str, email: str, password: str, client: Client) -> User:
        if self._disable_signup:
            raise AuthError(SIGNUP_DISABLED)
        name, email = clean_name(name), normalize_email(email)
        self._policy.check(password, email, name)
        password_hash = await self._hasher.hash(password)
        user = await self._logins.store(self._users.create(email, name, password_hash))
        self._audit.record("signup", uid=user.uid, ip=client.ip)
        return user

    async def change_name(self, identity: Identity, name: str) -> User:
        user = await self._logins.store(self._users.update(identity.user.uid, {"name": clean_name(name)}))
        return user or identity.user

    async def change_email(self, identity: Identity, email: str, client: Client) -> User:
        """Marks the address unverified and ends every session: the new address must be proven anew."""
        email = normalize_email(email)
        if email == identity.user.email:
            return identity.user
        user = await self._logins.end_all_sessions(identity.user.uid, {"email": email, "email_verified": False})
        self._audit.record("email.changed", uid=user.uid, sid=identity.claims.session_id, ip=client.ip)
        return user

    async def change_password(self, identity: Identity, password: str, client: Client) -> TokenPair:
        """Needs a fresh token; ends every session and hands the caller a new one to carry on with."""
        if not identity.claims.fresh:
            raise AuthError(FRESH_TOKEN_REQUIRED)
        self._policy.check(password, identity.user.email, identity.user.name)
        password_hash = await self._hasher.hash(password)
        user = await self._logins.end_all_sessions(identity.user.uid, {"password_hash": password_hash})
        pair, session = await self._logins.start_session(user, fresh=True, client=client)
        self._audit.record("password.changed", uid=user.uid, sid=session.id, ip=client.ip)
        return pair
