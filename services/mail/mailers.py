"""Ways to deliver a rendered mail: printed (development), SMTP, or Mailgun's HTTP API.

A mailer raises on any failure; the outbox retries later. `PermanentMailError` says that retrying is
pointless (the provider refused this recipient for good), and the message goes to the dead letters at once.
"""

from __future__ import annotations

import ssl
import sys
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid
from typing import Protocol, TextIO
from urllib.parse import quote, urlencode

import aiosmtplib
from tornado.httpclient import AsyncHTTPClient, HTTPClientError

from services.config import Config


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str
    html: str


class PermanentMailError(Exception):
    """The provider will never accept this message (e.g. 5xx for the recipient): do not retry."""


class Mailer(Protocol):
    async def send(self, mail: Mail) -> None: ...


def sender_address(config: Config) -> str:
    """`"<APP_NAME>" <MAIL_FROM>`: the name people see in their inbox."""
    return formataddr((config.app_name, config.mail_from))


def mime_message(sender: str, mail: Mail) -> EmailMessage:
    """Plain text first, HTML as the alternative: every client shows one of them."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2].rstrip(">") or None)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies to us
    message.set_content(mail.text)
    message.add_alternative(mail.html, subtype="html")
    return message


class ConsoleMailer:
    """Development: the mail, with its links, on standard output instead of in an inbox."""

    def __init__(self, sender: str, stream: TextIO | None = None) -> None:
        self._sender = sender
        self._stream = stream

    async def send(self, mail: Mail) -> None:
        stream = self._stream or sys.stdout
        rule = "-" * 72
        stream.write(f"{rule}\nMAIL_BACKEND=console: not sent, printed\nFrom: {self._sender}\nTo: {mail.to}\n"
                     f"Subject: {mail.subject}\n\n{mail.text.rstrip()}\n{rule}\n")
        stream.flush()


class SmtpMailer:
    def __init__(self, sender: str, host: str, port: int, security: str, username: str, password: str,
                 timeout: float, tls_context: ssl.SSLContext | None = None) -> None:
        """`security`: `tls` (implicit TLS, port 465), `starttls` (required: never falls back to plain
        text) or `none` (a relay on the same machine)."""
        self._sender = sender
        self._host = host
        self._port = port
        self._security = security
        self._username = username or None
        self._password = password or None
        self._timeout = timeout
        self._tls_context = tls_context

    async def send(self, mail: Mail) -> None:
        try:
            await aiosmtplib.send(
                mime_message(self._sender, mail), hostname=self._host, port=self._port,
                username=self._username, password=self._password, timeout=self._timeout,
                use_tls=self._security == "tls", start_tls=self._security == "starttls",
                tls_context=self._tls_context,
            )
        except (aiosmtplib.SMTPRecipientsRefused, aiosmtplib.SMTPRecipientRefused) as exc:
            refusals = exc.recipients if isinstance(exc, aiosmtplib.SMTPRecipientsRefused) else [exc]
            if refusals and all(refusal.code >= 500 for refusal in refusals):
                raise PermanentMailError(f"recipient refused: {refusals[0].code} {refusals[0].message}") from exc
            raise


class MailgunMailer:
    """Mailgun's `POST <base>/<domain>/messages` with HTTP basic auth `api:<key>`.

    The base URL is `https://api.mailgun.net/v3`, or `https://api.eu.mailgun.net/v3` for a domain in
    the EU region. Link and open tracking are turned off: tracking would send our single-use links
    through Mailgun's redirector.
    """

    def __init__(self, sender: str, base_url: str, domain: str, api_key: str, timeout: float) -> None:
        self._sender = sender
        self._url = f"{base_url.rstrip('/')}/{quote(domain.strip(), safe='')}/messages"
        self._api_key = api_key
        self._timeout = timeout

    async def send(self, mail: Mail) -> None:
        form = {"from": self._sender, "to": mail.to, "subject": mail.subject, "text": mail.text, "html": mail.html,
                "h:Auto-Submitted": "auto-generated", "o:tracking": "no", "o:tracking-clicks": "no",
                "o:tracking-opens": "no"}
        try:
            await AsyncHTTPClient().fetch(
                self._url, method="POST", body=urlencode(form), auth_username="api", auth_password=self._api_key,
                headers={"Content-Type": "application/x-www-form-urlencoded"},
                connect_timeout=self._timeout, request_timeout=self._timeout,
            )
        except HTTPClientError as exc:
            detail = exc.response.body[:200].decode(errors="replace") if exc.response and exc.response.body else ""
            problem = f"Mailgun answered {exc.code}: {detail}".strip()
            # 4xx is about this message (bad address, ...) except throttling, timeouts and auth (our config).
            if 400 <= exc.code < 500 and exc.code not in (401, 403, 408, 429):
                raise PermanentMailError(problem) from exc
            raise RuntimeError(problem) from exc


def build_mailer(config: Config) -> Mailer:
    sender = sender_address(config)
    if config.mail_backend == "smtp":
        return SmtpMailer(sender, config.smtp_host, config.smtp_port, config.smtp_security, config.smtp_username,
                          config.smtp_password, config.mail_send_timeout_seconds)
    if config.mail_backend == "mailgun":
        return MailgunMailer(sender, config.mailgun_base_url, config.mailgun_domain, config.mailgun_api_key,
                             config.mail_send_timeout_seconds)
    return ConsoleMailer(sender)
