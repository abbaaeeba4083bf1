"""The one place where passwordless sign-in makes an account: for the address or number a code proved, or an
anonymous one (`POST /signup/anonymous`). Hooks that must see every new account (issue 17's `before_signup`) belong
in `create`, which every path of this package goes through.

An account made by a code has no password (password logins fail for it like a wrong password until the user sets
one). One made for a phone number, or an anonymous one, has a unique placeholder address in the reserved `.invalid`
domain (RFC 2606) that is never mailed, as a social sign-in without an address the provider vouches for has.
"""

from __future__ import annotations

import uuid

from services.context import Client
from services.operations import AuditLog
from services.outcomes import EMAIL_IN_USE, INVALID_NAME, PHONE_IN_USE, SIGNUP_DISABLED, AuthError
from services.users import User, UserStore, clean_name, placeholder_address


class PasswordlessAccounts:
    def __init__(self, *, users: UserStore, audit: AuditLog, disable_signup: bool) -> None:
        self._users = users
        self._audit = audit
        self._disable_signup = disable_signup

    async def create(self, client: Client, *, email: str | None = None, phone: str | None = None) -> User:
        """A new account: for `email` (proven by its code: verified), for `phone` (verified the same way), or, with
        neither, an anonymous one. A concurrent sign-up that took the address or number first wins: its account is
        the one returned (the code proved the address; services/passwordless/sign_in.py proves it on that account)."""
        if self._disable_signup:
            raise AuthError(SIGNUP_DISABLED)
        anonymous = email is None and phone is None
        address = email or placeholder_address("phone" if phone else "anonymous", uuid.uuid4().hex)
        try:
            user = await self._users.create(address, _name(email), "", email_verified=email is not None, phone=phone,
                                            is_anonymous=anonymous, method="anonymous" if anonymous else "otp")
        except AuthError as exc:
            if exc.outcome not in (EMAIL_IN_USE, PHONE_IN_USE) or anonymous:
                raise
            taken = await (self._users.find_by_email(email) if email else self._users.find_by_phone(phone or ""))
            if taken is None:
                raise
            return taken
        via = "email" if email else "phone" if phone else "anonymous"
        self._audit.record("signup", uid=user.uid, ip=client.ip, via=via)
        return user


def _name(email: str | None) -> str:
    """The address's local part, as a social sign-in without a name gets; nothing for a number or anonymously."""
    if email is None:
        return ""
    try:
        return clean_name(email.split("@")[0])
    except AuthError as exc:
        if exc.outcome is not INVALID_NAME:
            raise
        return ""
