"""Sending texts: the console (development), Twilio's Messages API, or a signed webhook to any other provider.

Like the mailers, a sender only delivers a text it is handed; the outbox worker (services/passwordless/texts.py)
decides what to send and retries. A refusal that retrying cannot fix (an invalid number, a number that opted out)
is a `PermanentSmsError`: the text goes straight to the dead letters. Credentials, our own settings, and
throttling are worth retrying; so are the provider's 5xx and timeouts.
"""

from __future__ import annotations

import datetime
import json
import sys
import uuid
from dataclasses import dataclass
from typing import Protocol, TextIO
from urllib.parse import quote, urlencode

from standardwebhooks.webhooks import Webhook
from tornado.httpclient import AsyncHTTPClient, HTTPClientError

from services.config import Config

RETRYABLE_4XX = (401, 403, 408, 409, 429)


@dataclass(frozen=True)
class Sms:
    """A text to send; `code` and `purpose` travel too, for a webhook receiver that words its own texts."""

    to: str
    text: str
    code: str = ""
    purpose: str = ""


class PermanentSmsError(Exception):
    """The provider will never deliver this text (a bad number, one that opted out): do not retry."""


class SmsSender(Protocol):
    async def send(self, sms: Sms) -> None: ...


class ConsoleSms:
    """Development: the text on standard output instead of on a phone."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    async def send(self, sms: Sms) -> None:
        stream = self._stream or sys.stdout
        rule = "-" * 72
        stream.write(f"{rule}\nSMS_BACKEND=console: not sent, printed\nTo: {sms.to}\n\n{sms.text}\n{rule}\n")
        stream.flush()


class TwilioSms:
    """`POST <base>/2010-04-01/Accounts/<sid>/Messages.json` with HTTP basic auth `<sid>:<token>`: `To`, `Body` and
    `From` or, when set, `MessagingServiceSid` (Twilio then picks the sender)."""

    def __init__(self, *, base_url: str, account_sid: str, auth_token: str, from_number: str,
                 messaging_service_sid: str, timeout: float) -> None:
        self._url = f"{base_url.rstrip('/')}/2010-04-01/Accounts/{quote(account_sid, safe='')}/Messages.json"
        self._sid = account_sid
        self._token = auth_token
        self._sender = ({"MessagingServiceSid": messaging_service_sid} if messaging_service_sid
                        else {"From": from_number})
        self._timeout = timeout

    async def send(self, sms: Sms) -> None:
        body = urlencode({"To": sms.to, "Body": sms.text, **self._sender})
        await _post(self._url, body, {"Content-Type": "application/x-www-form-urlencoded"}, self._timeout,
                    "Twilio", auth=(self._sid, self._token))


class WebhookSms:
    """A JSON POST of `{to, text, code, purpose}` to the operator's own endpoint, signed per Standard Webhooks
    (`webhook-id`, `webhook-timestamp`, `webhook-signature`) so it can tell our texts from anyone else's."""

    def __init__(self, *, url: str, secret: str, timeout: float) -> None:
        self._url = url
        self._signer = Webhook(secret)
        self._timeout = timeout

    async def send(self, sms: Sms) -> None:
        payload = json.dumps({"to": sms.to, "text": sms.text, "code": sms.code, "purpose": sms.purpose},
                             separators=(",", ":"))
        message_id = f"msg_{uuid.uuid4().hex}"
        now = datetime.datetime.now(tz=datetime.UTC)
        headers = {"Content-Type": "application/json", "webhook-id": message_id,
                   "webhook-timestamp": str(int(now.timestamp())),
                   "webhook-signature": self._signer.sign(message_id, now, payload)}
        await _post(self._url, payload, headers, self._timeout, "the SMS webhook")


async def _post(url: str, body: str, headers: dict[str, str], timeout: float, who: str,  # noqa: ASYNC109
                auth: tuple[str, str] | None = None) -> None:
    """`timeout` is the client's own (connect and request), as the mailers pass theirs."""
    try:
        await AsyncHTTPClient().fetch(url, method="POST", body=body, headers=headers, connect_timeout=timeout,
                                      request_timeout=timeout, follow_redirects=False,
                                      auth_username=auth[0] if auth else None, auth_password=auth[1] if auth else None)
    except HTTPClientError as exc:
        detail = exc.response.body[:200].decode(errors="replace") if exc.response and exc.response.body else ""
        problem = f"{who} answered {exc.code}: {detail}".strip()
        if 400 <= exc.code < 500 and exc.code not in RETRYABLE_4XX:
            raise PermanentSmsError(problem) from exc
        raise RuntimeError(problem) from exc


def build_sms_sender(config: Config) -> SmsSender:
    if config.sms_backend == "twilio":
        return TwilioSms(base_url=config.twilio_base_url, account_sid=config.twilio_account_sid,
                         auth_token=config.twilio_auth_token, from_number=config.twilio_from_number,
                         messaging_service_sid=config.twilio_messaging_service_sid,
                         timeout=config.sms_send_timeout_seconds)
    if config.sms_backend == "webhook":
        return WebhookSms(url=config.sms_webhook_url, secret=config.sms_webhook_secret,
                          timeout=config.sms_send_timeout_seconds)
    return ConsoleSms()
