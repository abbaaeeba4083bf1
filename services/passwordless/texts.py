"""The texts the server sends, as typed intents in their own outbox queue (`auth:{sms}:*`), and the worker that turns
each into a text at delivery time (the code is made only then: services/passwordless/delivery.py) and hands it to
the configured sender (services/passwordless/sms.py), with the outbox's retries and dead letters.

Each sign-in text ends with the origin-bound line of the WebOTP format (`@<host> #<code>`), so a browser or a phone
on our site can offer the code by itself, and only there.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import ClassVar
from urllib.parse import urlsplit

from services.infra import MessageCodec, Outbox, OutboxWorker
from services.passwordless.delivery import CodeDelivery
from services.passwordless.sms import PermanentSmsError, Sms, SmsSender

log = logging.getLogger("auth.sms")


@dataclass(frozen=True)
class SignInText:
    """A sign-in code to this number, if it may sign in (services/passwordless/delivery.py)."""

    kind: ClassVar[str] = "sign-in-code"
    phone: str
    create_user: bool = False


@dataclass(frozen=True)
class PhoneChangeText:
    """The code that proves a number the user wants on the account (`PATCH /user {"phone"}`)."""

    kind: ClassVar[str] = "phone-change"
    uid: str
    phone: str


SmsMessage = SignInText | PhoneChangeText
SMS_MESSAGES: MessageCodec[SmsMessage] = MessageCodec([SignInText, PhoneChangeText])


class TextComposer:
    def __init__(self, *, delivery: CodeDelivery, app_name: str, app_url: str) -> None:
        self._delivery = delivery
        self._app_name = app_name
        self._host = urlsplit(app_url).hostname or "localhost"

    async def compose(self, message: SmsMessage | None) -> Sms | None:
        """The text for this message, or None when nobody (left) is to get one."""
        minutes = max(self._delivery.lifetime // 60, 1)
        match message:
            case SignInText(phone=phone, create_user=create_user):
                issued = await self._delivery.text_code(phone, create_user)
                return None if issued is None else self._code(phone, issued.code, "sign-in", minutes)
            case PhoneChangeText(uid=uid, phone=phone):
                outcome, issued = await self._delivery.phone_change_code(uid, phone)
                if outcome == "taken":
                    return Sms(to=phone, purpose="phone-taken",
                               text=f"Someone tried to add this number to another {self._app_name} account. If it "
                                    "was you, sign in with this number instead.")
                return None if issued is None else self._code(phone, issued.code, "phone-change", minutes)
        raise PermanentSmsError("unknown text message")  # a record this version cannot read: retrying cannot help

    def _code(self, phone: str, code: str, purpose: str, minutes: int) -> Sms:
        text = (f"{code} is your {self._app_name} code. It works once, for {minutes} minutes. Never share it."
                f"\n\n@{self._host} #{code}")
        return Sms(to=phone, text=text, code=code, purpose=purpose)


class SmsWorker(OutboxWorker[SmsMessage]):
    def __init__(self, *, outbox: Outbox[SmsMessage], composer: TextComposer, sender: SmsSender,
                 send_timeout: float, poll_seconds: float = 1.0) -> None:
        super().__init__(outbox=outbox, what="sms", log=log, send_timeout=send_timeout,
                         permanent=(PermanentSmsError,), poll_seconds=poll_seconds)
        self._composer = composer
        self._sender = sender

    async def hand_over(self, message: SmsMessage | None) -> bool:
        sms = await self._composer.compose(message)
        if sms is None:
            return False
        await self._sender.send(sms)
        return True
