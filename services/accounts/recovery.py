"""Password reset: "forgot my password" mails a single-use link; the link sets a new password.

`forgot` does the same work for every address (count it against its quota, queue one message) and
answers the same: whether an account has the address is only looked up by the mail worker. A
completed reset proves the address (services/accounts/proof.py): it ends every session of the user and drops
a pending address change in the same write that stores the new hash, removes the linked identities, clears the
account's failed-login lock (the owner proved the address), and tells the owner by mail what went.
"""

from __future__ import annotations

from dataclasses import replace

from services.accounts.passwords import PasswordHasher, PasswordPolicy
from services.accounts.proof import AddressProof
from services.captcha import Captcha, NoCaptcha
from services.context import Client
from services.infra import Outbox
from services.limits import Throttle
from services.mail import MailMessage, PasswordChanged, ResetRequest
from services.operations import AuditLog
from services.outcomes import PASSWORDS_DIFFER, AuthError, ServiceUnavailable
from services.tokens import ActionLinks
from services.users import User, normalize_email


class PasswordReset:
    def __init__(self, *, links: ActionLinks, outbox: Outbox[MailMessage], throttle: Throttle,
                 proof: AddressProof, hasher: PasswordHasher, policy: PasswordPolicy, audit: AuditLog,
                 captcha: Captcha | None = None) -> None:
        self._links = links
        self._outbox = outbox
        self._throttle = throttle
        self._proof = proof
        self._hasher = hasher
        self._policy = policy
        self._audit = audit
        self._captcha = captcha or NoCaptcha()

    async def forgot(self, email: str, client: Client | None = None) -> None:
        """`client`: the JSON API's caller, whose CAPTCHA is checked (the HTML page's form: services/captcha)."""
        if client is not None:
            await self._captcha.require(client)
        address = normalize_email(email)
        await self._throttle.mail_to(address, enforce=True)
        await self._outbox.enqueue(ResetRequest(email=address))

    async def check(self, token: str | None) -> User:
        """The user a reset link is for, while it is usable; it stays unused."""
        return await self._links.check(token, "reset")

    async def reset(self, token: str | None, password: str, confirmation: str | None, client: Client) -> User:
        user = await self._links.check(token, "reset")
        # Refused passwords leave the link usable: the person tries again on the same page.
        if confirmation is not None and confirmation != password:
            raise AuthError(PASSWORDS_DIFFER)
        await self._policy.check(password, user.email, user.name)
        password_hash = await self._hasher.hash(password)
        user = await self._links.consume(token, "reset")
        # The link went to this address and was followed: that proves the address as well.
        changes = {"password_hash": password_hash}
        try:
            proven = await self._proof.prove(user, changes, via="reset", ip=client.ip)
        except ServiceUnavailable:  # stored or not, the same link must finish the job when the person retries
            await self._links.give_back(token, "reset", replace(user, **changes))
            raise
        self._audit.record("password.reset", uid=user.uid, ip=client.ip)
        await self._throttle.login_succeeded(proven.user.email, client.ip)  # proven by mail: lift the account's lock
        # A security notice: sent whatever the address's quota, which a stranger may have filled up.
        await self._outbox.enqueue(PasswordChanged(uid=user.uid, unlinked=proven.unlinked,
                                                   dropped_change=proven.dropped_change))
        return proven.user
