"""The account itself: sign up, and change name or password (an address change is services/accounts/email_change.py)."""

from __future__ import annotations

from services.accounts.passwords import PasswordHasher, PasswordPolicy
from services.accounts.verification import EmailVerification
from services.captcha import Captcha, NoCaptcha
from services.context import Caller, Client, TokenPair
from services.infra import Outbox
from services.mail import MailMessage, PasswordChanged
from services.operations import AuditLog
from services.outcomes import (
    EMAIL_IN_USE,
    SIGNUP_DISABLED,
    USER_REGISTERED,
    USER_REGISTERED_CHECK_INBOX,
    AuthError,
    Outcome,
)
from services.sessions import SessionService, require_step_up
from services.users import User, UserStore, clean_name, metadata_object, normalize_email


class AccountService:
    def __init__(self, *, users: UserStore, sessions: SessionService, hasher: PasswordHasher, policy: PasswordPolicy,
                 audit: AuditLog, verification: EmailVerification, outbox: Outbox[MailMessage], disable_signup: bool,
                 verification_required: bool, captcha: Captcha | None = None) -> None:
        self._users = users
        self._sessions = sessions
        self._hasher = hasher
        self._policy = policy
        self._audit = audit
        self._verification = verification
        self._outbox = outbox
        self._disable_signup = disable_signup
        self._verification_required = verification_required
        self._captcha = captcha or NoCaptcha()

    async def signup(self, name: str, email: str, password: str, client: Client) -> Outcome:
        """Creates the account and mails a verification link.

        With EMAIL_VERIFICATION_REQUIRED, a taken address gets the very answer a new one gets (after the
        same password hashing), and its owner a mail saying someone tried: sign-up tells nobody who has an
        account. Without it, a taken address answers 409, as the seed does.

        The account is written first, then its mail is queued: a fault between the two (Redis) answers 503 and
        leaves the account marked `signup_pending`. Its retry proves itself with the same password, checked against
        the stored hash (one bcrypt, as for a new address), and finishes the sign-up; anyone else's is a taken
        address (issue 12, item 15).
        """
        if self._disable_signup:
            raise AuthError(SIGNUP_DISABLED)
        await self._captcha.require(client)
        name, email = clean_name(name), normalize_email(email)
        await self._policy.check(password, email, name)
        pending = await self._users.find_by_email(email)
        if pending is not None and pending.signup_pending:
            if await self._hasher.verify(password, pending.password_hash):
                return await self._finish_signup(pending, client, retried=True)
            return await self._address_taken(email, client)
        password_hash = await self._hasher.hash(password)
        try:
            user = await self._users.create(email, name, password_hash, signup_pending=True)
        except AuthError as exc:
            if exc.outcome is not EMAIL_IN_USE:
                raise
            return await self._address_taken(email, client)
        return await self._finish_signup(user, client)

    async def _finish_signup(self, user: User, client: Client, retried: bool = False) -> Outcome:
        await self._verification.after_signup(user)
        await self._users.finish_signup(user.uid)
        self._audit.record("signup", uid=user.uid, ip=client.ip, **({"retried": True} if retried else {}))
        return USER_REGISTERED_CHECK_INBOX if self._verification_required else USER_REGISTERED

    async def _address_taken(self, email: str, client: Client) -> Outcome:
        if not self._verification_required:
            raise AuthError(EMAIL_IN_USE)
        await self._verification.after_signup_with_taken_address(email)
        self._audit.record("signup.address_taken", ip=client.ip)
        return USER_REGISTERED_CHECK_INBOX

    async def change_name(self, caller: Caller, name: str) -> User:
        user = await self._users.update(caller.user.uid, {"name": clean_name(name)})
        self._audit.record("account.updated", uid=caller.user.uid, sid=caller.session_id, fields=["name"])
        return user or caller.user

    async def change_user_metadata(self, caller: Caller, metadata: object) -> User:
        """`PATCH /user {"user_metadata": {...}}`: the user's own JSON object, replacing the one before ({} clears
        it)."""
        user = await self._users.update(caller.user.uid, {"user_metadata": metadata_object(metadata, "user_metadata")})
        self._audit.record("account.updated", uid=caller.user.uid, sid=caller.session_id, fields=["user_metadata"])
        return user or caller.user

    async def change_password(self, caller: Caller, password: str, client: Client) -> TokenPair:
        """Needs a fresh token (and aal2 once the user has a second factor); ends every session and hands the caller a
        new one to carry on with, as strong as the one it came with.

        An anonymous account (services/passwordless/anonymous.py) has no credential to log in with again, so its
        sessions are all it has: it needs no fresh token, and keeps its sessions (the caller still gets a new pair)."""
        require_step_up(caller)
        anonymous = caller.user.is_anonymous
        await self._policy.check(password, caller.user.email, caller.user.name)
        password_hash = await self._hasher.hash(password)
        if anonymous:
            user = await self._users.update(caller.user.uid, {"password_hash": password_hash}) or caller.user
        else:
            user = await self._sessions.end_all(caller.user.uid, {"password_hash": password_hash})
        pair, session = await self._sessions.start(user, fresh=True, client=client, assurance=caller.assurance)
        self._audit.record("password.changed", uid=user.uid, sid=session.id, ip=client.ip)
        await self._outbox.enqueue(PasswordChanged(uid=user.uid))  # a security notice: no quota
        return pair
