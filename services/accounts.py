"""The account itself: sign up, and change name, email or password."""

from __future__ import annotations

import logging
import unicodedata

from services.audit import AuditLog
from services.errors import (
    EMAIL_IN_USE,
    FRESH_TOKEN_REQUIRED,
    INVALID_NAME,
    SIGNUP_DISABLED,
    USER_REGISTERED,
    USER_REGISTERED_CHECK_INBOX,
    AuthError,
    Outcome,
)
from services.logins import Client, Identity, LoginService, TokenPair
from services.mail_composer import PASSWORD_CHANGED
from services.outbox import Outbox
from services.passwords import PasswordHasher, PasswordPolicy
from services.users import User, UserStore, normalize_email
from services.verification import EmailVerification

log = logging.getLogger("auth.accounts")
MAX_NAME_LENGTH = 200


def clean_name(name: str) -> str:
    name = unicodedata.normalize("NFC", name).strip()
    if not name or len(name) > MAX_NAME_LENGTH or any(unicodedata.category(ch).startswith("C") for ch in name):
        raise AuthError(INVALID_NAME)
    return name


class AccountService:
    def __init__(self, users: UserStore, logins: LoginService, hasher: PasswordHasher, policy: PasswordPolicy,
                 audit: AuditLog, verification: EmailVerification, outbox: Outbox, disable_signup: bool,
                 verification_required: bool) -> None:
        self._users = users
        self._logins = logins
        self._hasher = hasher
        self._policy = policy
        self._audit = audit
        self._verification = verification
        self._outbox = outbox
        self._disable_signup = disable_signup
        self._verification_required = verification_required

    async def signup(self, name: str, email: str, password: str, client: Client) -> Outcome:
        """Creates the account and mails a verification link.

        With EMAIL_VERIFICATION_REQUIRED, a taken address gets the very answer a new one gets (after the
        same password hashing), and its owner a mail saying someone tried: sign-up tells nobody who has an
        account. Without it, a taken address answers 409, as the seed does.
        """
        if self._disable_signup:
            raise AuthError(SIGNUP_DISABLED)
        name, email = clean_name(name), normalize_email(email)
        self._policy.check(password, email, name)
        password_hash = await self._hasher.hash(password)
        try:
            user = await self._logins.store(self._users.create(email, name, password_hash))
        except AuthError as exc:
            if exc.outcome is not EMAIL_IN_USE or not self._verification_required:
                raise
            await self._verification.after_signup_with_taken_address(email)
            self._audit.record("signup.address_taken", ip=client.ip)
            return USER_REGISTERED_CHECK_INBOX
        await self._verification.after_signup(user)
        self._audit.record("signup", uid=user.uid, ip=client.ip)
        return USER_REGISTERED_CHECK_INBOX if self._verification_required else USER_REGISTERED

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
        await self._verification.after_email_change(user, identity.user.email)
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
        await self._outbox.enqueue({"kind": PASSWORD_CHANGED, "uid": user.uid})  # a security notice: no quota
        return pair
