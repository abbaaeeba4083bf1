"""Whether a sign-in code goes out, decided when its mail or text is delivered, never by the request that asked.

`POST /otp` only counts its quotas and queues an intent, the same for every address and number, so its answer and
its timing tell nobody who has an account. The outbox worker then asks here: an account with that address or number
(not disabled) gets a code and a link; an address without one gets them only when the request allowed an account to
be made (`create_user`, and sign-up is not disabled), which happens when the code is used, never before; anyone
else gets nothing. A phone change's code goes to the new number unless another account has it: that number's owner
is told instead, as an address change tells the holder of a taken address.
"""

from __future__ import annotations

from typing import Literal

from services.passwordless.codes import Challenge, IssuedChallenge, SignInCodes
from services.users import UserStore

PhoneChangeDelivery = Literal["code", "taken", "none"]


class CodeDelivery:
    def __init__(self, *, codes: SignInCodes, users: UserStore, disable_signup: bool) -> None:
        self._codes = codes
        self._users = users
        self._disable_signup = disable_signup

    @property
    def lifetime(self) -> int:
        return self._codes.lifetime

    async def mail_code(self, address: str, create_user: bool, redirect_to: str, fresh: bool) -> tuple[str, str] | None:
        """The code and the magic link's token to mail to `address`, or None when nothing is to be sent."""
        user = await self._users.find_by_email(address)
        if not self._may_sign_in(user is not None and not user.disabled, user is None, create_user):
            return None
        issued = await self._codes.issue(Challenge("email", address, create_user=create_user and user is None,
                                                   redirect_to=redirect_to, fresh=fresh))
        return issued.code, issued.link_token

    async def text_code(self, phone: str, create_user: bool) -> IssuedChallenge | None:
        user = await self._users.find_by_phone(phone)
        if not self._may_sign_in(user is not None and not user.disabled, user is None, create_user):
            return None
        return await self._codes.issue(Challenge("phone", phone, create_user=create_user and user is None))

    async def phone_change_code(self, uid: str, phone: str) -> tuple[PhoneChangeDelivery, IssuedChallenge | None]:
        user = await self._users.find_by_uid(uid)
        if user is None or user.disabled:
            return "none", None
        holder = await self._users.find_by_phone(phone)
        if holder is not None and holder.uid != uid:
            return "taken", None
        return "code", await self._codes.issue(Challenge("phone-change", phone, uid=uid))

    def _may_sign_in(self, known: bool, unknown: bool, create_user: bool) -> bool:
        return known or (unknown and create_user and not self._disable_signup)
