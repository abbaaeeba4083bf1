"""SMS receivers for tests, over HTTP on loopback: a stand-in for Twilio's Messages API (basic auth, the form it
takes, its error answers) and a webhook receiver that checks every Standard Webhooks signature with the
`standardwebhooks` library, as an operator's own endpoint would."""

from __future__ import annotations

import asyncio
import base64
import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import tornado.web
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

TWILIO_SID = "AC0123456789abcdef0123456789abcdef"
TWILIO_TOKEN = "twilio-auth-token"
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"a webhook secret of 32 bytes!!!!").decode()
CODE = re.compile(r"\b(\d{6})\b")


@dataclass
class Text:
    to: str
    body: str
    sender: dict[str, str]

    @property
    def code(self) -> str:
        return CODE.search(self.body)[1]  # type: ignore[index]


@dataclass
class SmsReceiver:
    """What a fake received, and how it answers: `status` (200 by default), `failures` errors before it succeeds."""

    texts: list[Text] = field(default_factory=list)
    refused: list[dict[str, Any]] = field(default_factory=list)
    status: int = 0
    failures: int = 0
    base_url: str = ""

    def to(self, number: str) -> list[Text]:
        return [text for text in self.texts if text.to == number]

    async def text(self, number: str, count: int = 1, within: float = 10.0) -> Text:
        deadline = time.monotonic() + within
        while len(self.to(number)) < count:
            assert time.monotonic() < deadline, f"no text to {number} in {within} s: {self.texts}"
            await asyncio.sleep(0.02)
        return self.to(number)[-1]


class _TwilioHandler(tornado.web.RequestHandler):
    def initialize(self, fake: SmsReceiver) -> None:
        self.fake = fake

    def post(self, sid: str) -> None:
        scheme, _, encoded = self.request.headers.get("Authorization", "").partition(" ")
        login = base64.b64decode(encoded).decode() if scheme == "Basic" else ""
        form = {key: values[0] for key, values in parse_qs(self.request.body.decode()).items()}
        self.set_header("Content-Type", "application/json")
        if sid != TWILIO_SID or login != f"{TWILIO_SID}:{TWILIO_TOKEN}":
            self.set_status(401)
            self.finish({"code": 20003, "message": "Authenticate", "status": 401})
            return
        if self.fake.failures > 0 or self.fake.status:
            self.fake.failures = max(self.fake.failures - 1, 0)
            status = self.fake.status or 503
            self.fake.refused.append(form)
            self.set_status(status)
            self.finish({"code": 21211, "message": "The 'To' number is not a valid phone number.", "status": status})
            return
        sender = {name: form[name] for name in ("From", "MessagingServiceSid") if name in form}
        self.fake.texts.append(Text(form["To"], form["Body"], sender))
        self.set_status(201)
        self.finish({"sid": f"SM{len(self.fake.texts):032d}", "status": "queued", "to": form["To"]})


class _WebhookHandler(tornado.web.RequestHandler):
    def initialize(self, fake: SmsReceiver) -> None:
        self.fake = fake

    def post(self) -> None:
        try:
            payload = Webhook(WEBHOOK_SECRET).verify(self.request.body, dict(self.request.headers))
        except WebhookVerificationError:
            self.fake.refused.append({"unsigned": self.request.body.decode()})
            self.set_status(401)
            self.finish()
            return
        if self.fake.failures > 0:
            self.fake.failures -= 1
            self.set_status(500)
            self.finish()
            return
        self.fake.texts.append(Text(payload["to"], payload["text"], {"code": payload["code"],
                                                                     "purpose": payload["purpose"]}))
        self.set_status(204)
        self.finish()


def twilio_app(fake: SmsReceiver) -> tornado.web.Application:
    return tornado.web.Application([(r"/2010-04-01/Accounts/([^/]+)/Messages\.json", _TwilioHandler,
                                     {"fake": fake})])


def webhook_app(fake: SmsReceiver) -> tornado.web.Application:
    return tornado.web.Application([(r"/sms", _WebhookHandler, {"fake": fake})])


def twilio_settings(fake: SmsReceiver, **more: Any) -> dict[str, Any]:
    return {"sms_backend": "twilio", "twilio_base_url": fake.base_url, "twilio_account_sid": TWILIO_SID,
            "twilio_auth_token": TWILIO_TOKEN, "twilio_from_number": "+15005550006",
            "sms_retry_base_seconds": 0.05, **more}
