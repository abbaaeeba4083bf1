"""Password reset: "forgot my password" mails a single-use link; the link sets a new password.

`forgot` does the same work for every address (count it against its quota, queue one message) and
answers the same: whether an account has the address is only looked up by the mail worker. A
completed reset ends every session of the user in the same write that stores the new hash, and tells
the owner by mail.
"""

from __future__ import annotations

from services.action_tokens import ActionLinks
from services.audit import AuditLog
from services.errors import PASSWORDS_DIFFER, AuthError
from services.logins import Client, LoginService
from services.mail_composer import PASSWORD_CHANGED, RESET_REQUEST
from services.outbox import Outbox
from services.passwords import PasswordHasher, PasswordPolicy
from services.throttle import Throttle
from services.users import User, normalize_email


class PasswordReset:
    def __init__(self, links: ActionLinks, outbox: Outbox, throttle: Throttle, logins: LoginService,
                 hasher: PasswordHasher, policy: PasswordPolicy, audit: AuditLog) -> None:
        self._links = links
        self._outbox = outbox
        self._throttle = throttle
        self._logins = logins
        self._hasher = hasher
        self._policy = policy
        self._audit = audit

    @property
    def policy(self) -> PasswordPolicy:
        return self._policy

    async def forgot(self, email: str) -> None:
        address = normalize_email(email)
        await self._throttle.mail_to(address, enforce=True)
        await self._outbox.enqueue({"kind": RESET_REQUEST, "email": address})

    async def check(self, token: str | None) -> User:
        """The user a reset link is for, while it is usable; it stays unused."""
        return await self._links.check(token, "reset")

    async def reset(self, token: str | None, password: str, confirmation: str | None, client: Client) -> User:
        user = await self._links.check(token, "reset")
        # Refused passwords leave the link usable: the person tries again on the same page.
        if confirmation is not None and confirmation != password:
            raise AuthError(PASSWORDS_DIFFER)
        self._policy.check(password, user.email, user.name)
        password_hash = await self._hasher.hash(password)
        user = await self._links.consume(token, "reset")
        # The link went to this address and was followed: that proves the address as well.
        updated = await self._logins.end_all_sessions(user.uid, {"password_hash": password_hash,
                                                                 "email_verified": True})
        self._audit.record("password.reset", uid=user.uid, ip=client.ip)
        # A security notice: sent whatever the address's quota (see EmailVerification.after_email_change).
        await self._outbox.enqueue({"kind": PASSWORD_CHANGED, "uid": updated.uid})
        return updated
