"""The account's phone number: `PATCH /user {"phone"}` texts a code to the new number, `POST /user/phone/verify
{"code"}` sets the number once the code proves it, `DELETE /user/phone` removes it.

A number is a way to sign in (codes by SMS), so giving an account one hands that account to whoever holds the
phone: like a password change it needs a fresh token (an anonymous account, which cannot log in again, needs none),
and the account's address is told. A number another account has gets its owner a text instead of a code (no answer
says who has which number); if it was taken between the code and its use, 409 `auth/phone-already-in-use`.
"""

from __future__ import annotations

from services.context import Caller, Client
from services.infra import Outbox
from services.limits import Throttle
from services.mail import MailMessage, PhoneChanged
from services.operations import AuditLog
from services.outcomes import (
    FRESH_TOKEN_REQUIRED,
    LAST_SIGN_IN_METHOD,
    PHONE_CODE_SENT,
    PHONE_VERIFIED,
    TOKEN_REVOKED,
    AuthError,
    Outcome,
)
from services.passwordless.codes import SignInCodes
from services.passwordless.phones import masked, normalize_phone
from services.passwordless.texts import PhoneChangeText, SmsMessage
from services.sessions import require_step_up
from services.social import IdentityStore
from services.users import User, UserStore, deliverable


class PhoneNumbers:
    def __init__(self, *, users: UserStore, codes: SignInCodes, identities: IdentityStore, throttle: Throttle,
                 texts: Outbox[SmsMessage], mail: Outbox[MailMessage], audit: AuditLog, region: str) -> None:
        self._users = users
        self._codes = codes
        self._identities = identities
        self._throttle = throttle
        self._texts = texts
        self._mail = mail
        self._audit = audit
        self._region = region

    async def request_change(self, caller: Caller, phone: str, client: Client) -> Outcome:
        _require_fresh(caller)
        number = normalize_phone(phone, self._region)
        if number == caller.user.phone:
            return PHONE_VERIFIED
        await self._throttle.per_subject("sms-number", number)
        await self._texts.enqueue(PhoneChangeText(uid=caller.uid, phone=number))
        self._audit.record("phone.change_requested", uid=caller.uid, sid=caller.session_id, ip=client.ip)
        return PHONE_CODE_SENT

    async def confirm_change(self, caller: Caller, code: str, client: Client) -> User:
        await self._throttle.per_subject("otp-verify", f"phone-change:{caller.uid}")
        used = await self._codes.use_code("phone-change", caller.uid, code)
        was_anonymous = caller.user.is_anonymous
        user = await self._users.set_phone(caller.uid, used.challenge.destination)
        if user is None:
            raise AuthError(TOKEN_REVOKED)
        self._audit.record("phone.changed", uid=user.uid, sid=caller.session_id, ip=client.ip)
        if was_anonymous:
            self._audit.record("account.upgraded", uid=user.uid, ip=client.ip, via="phone")
        await self._notify(user, masked(used.challenge.destination))
        return user

    async def remove(self, caller: Caller, client: Client) -> None:
        """Never the last way in: an account without a password, a proven address or an identity keeps its number."""
        _require_fresh(caller)
        user = caller.user
        if user.phone is None:
            return
        other_ways = (user.has_password or (user.email_verified and deliverable(user.email))
                      or bool(await self._identities.list(user.uid)))
        if not other_ways:
            raise AuthError(LAST_SIGN_IN_METHOD, "This number is the only way to sign in to your account; add an "
                                                 "email address or link a provider first.")
        updated = await self._users.remove_phone(user.uid)
        if updated is None:
            raise AuthError(TOKEN_REVOKED)
        self._audit.record("phone.removed", uid=user.uid, sid=caller.session_id, ip=client.ip)
        await self._notify(updated, "")

    async def _notify(self, user: User, phone: str) -> None:
        """A security notice to the account's address, whatever its quota (which a stranger may have used up)."""
        if user.email_verified and deliverable(user.email):
            await self._mail.enqueue(PhoneChanged(uid=user.uid, phone=phone))


def _require_fresh(caller: Caller) -> None:
    if not caller.claims.fresh and not caller.user.is_anonymous:
        raise AuthError(FRESH_TOKEN_REQUIRED, "Changing the phone number needs a fresh token: log in again with "
                                              "fresh_token set to true.")
    require_step_up(caller)  # and aal2 once the user has a second factor: a number is a way into the account
