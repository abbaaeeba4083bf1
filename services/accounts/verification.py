"""Email verification: the mails that ask for it, and the link that confirms an address.

Nothing here sends mail itself: it puts a message in the outbox, and the worker composes and sends it.
Requests made with an address alone answer the same whether or not an account has that address. Confirming
an address that was not verified ends what was attached to the account before (services/accounts/proof.py).
"""

from __future__ import annotations

from services.accounts.proof import AddressProof
from services.context import Caller
from services.infra import Outbox
from services.limits import Throttle
from services.mail import AddressConfirmed, MailMessage, SignupAttempt, VerifyAddress, VerifyRequest
from services.operations import AuditLog
from services.outcomes import ALREADY_VERIFIED, MISSING_FIELD, VERIFICATION_SENT, AuthError, Outcome, ServiceUnavailable
from services.tokens import ActionLinks
from services.users import User, normalize_email


class EmailVerification:
    def __init__(self, *, links: ActionLinks, outbox: Outbox[MailMessage], throttle: Throttle, audit: AuditLog,
                 proof: AddressProof) -> None:
        self._links = links
        self._outbox = outbox
        self._throttle = throttle
        self._audit = audit
        self._proof = proof

    async def after_signup(self, user: User) -> None:
        await self._mail(user.email, VerifyAddress(uid=user.uid))

    async def after_signup_with_taken_address(self, email: str) -> None:
        """The owner hears that someone tried; the one who tried learns nothing (EMAIL_VERIFICATION_REQUIRED)."""
        await self._mail(email, SignupAttempt(email=email))

    async def resend(self, email: str | None, caller: Caller | None) -> Outcome:
        """A new link, for the signed-in user, or for an address (the answer tells nothing about it)."""
        if caller is not None:
            if caller.user.email_verified:
                return ALREADY_VERIFIED
            await self._throttle.mail_to(caller.user.email, enforce=True)
            await self._outbox.enqueue(VerifyAddress(uid=caller.user.uid))
            return VERIFICATION_SENT
        if email is None:
            raise AuthError(MISSING_FIELD, "The field 'email' is required (or send an access token).")
        address = normalize_email(email)
        await self._throttle.mail_to(address, enforce=True)
        await self._outbox.enqueue(VerifyRequest(email=address))
        return VERIFICATION_SENT

    async def check(self, token: str | None) -> User:
        """The user whose address the link would verify; the link stays unused."""
        return await self._links.check(token, "verify")

    async def confirm(self, token: str | None, ip: str) -> User:
        user = await self._links.consume(token, "verify")
        if user.email_verified:  # an older link of an address proven since: nothing more to end
            return user
        try:
            proven = await self._proof.prove(user, {}, via="verify", ip=ip)
        except ServiceUnavailable:  # stored or not: the same link verifies when the person retries
            await self._links.give_back(token, "verify", user)
            raise
        self._audit.record("email.verified", uid=user.uid, ip=ip)
        if proven.unlinked or proven.dropped_change or proven.sessions_ended:  # say what the proof ended
            await self._outbox.enqueue(AddressConfirmed(uid=user.uid, unlinked=proven.unlinked,
                                                        dropped_change=proven.dropped_change,
                                                        sessions_ended=proven.sessions_ended))
        return proven.user

    async def _mail(self, address: str, message: MailMessage) -> None:
        """Queue a mail the caller did not ask for by name: over the address's quota it is just not sent."""
        if await self._throttle.mail_to(address, enforce=False):
            await self._outbox.enqueue(message)
