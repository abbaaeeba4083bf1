"""Mail servers for tests, all on 127.0.0.1: an aiosmtpd SMTP server that keeps what it receives (plain,
STARTTLS or implicit TLS, with or without a login), and a stand-in for Mailgun's HTTP API.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import email
import email.policy
import ipaddress
import re
import ssl
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import tornado.web
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

LINK = re.compile(r"https?://[^\s<>\"]+")


@dataclass
class Received:
    message: EmailMessage
    recipients: list[str]
    tls: bool
    login: str | None

    @property
    def to(self) -> str:
        return str(self.message["To"])

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def text(self) -> str:
        return self.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]

    @property
    def html(self) -> str:
        return self.message.get_body(("html",)).get_content()  # type: ignore[union-attr]

    def link(self, page: str) -> str:
        """The one link in the plain text that opens `page` (e.g. `reset-password`)."""
        links = [link for link in LINK.findall(self.text) if f"/{page}" in link]
        assert len(set(links)) == 1, (page, self.text)
        return links[0]

    def token(self, page: str) -> str:
        return self.link(page).partition("token=")[2]


@dataclass
class Capture:
    """The aiosmtpd handler: keeps every message, refuses the addresses in `refuse` with a 550."""

    received: list[Received] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if address in self.refuse:
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
        # STARTTLS sets session.ssl; implicit TLS shows only on the transport.
        tls = session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None
        self.received.append(Received(message, list(envelope.rcpt_tos), tls, login))  # type: ignore[arg-type]
        return "250 Message accepted"


class SmtpServer:
    """An SMTP server in its own thread; `start(**smtp_options)` again after `stop()` serves on the same port."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.capture = Capture()
        self._controller: Controller | None = None

    @property
    def received(self) -> list[Received]:
        return self.capture.received

    def start(self, **options: Any) -> None:
        self._controller = Controller(self.capture, hostname="127.0.0.1", port=self.port, **options)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def clear(self) -> None:
        self.capture.received.clear()
        self.capture.refuse.clear()

    async def wait_for(self, count: int, within: float = 10.0) -> list[Received]:
        """At least `count` messages, polled for at most `within` seconds."""
        deadline = time.monotonic() + within
        while len(self.received) < count:
            assert time.monotonic() < deadline, f"{len(self.received)} of {count} mail(s) arrived in {within} s"
            await asyncio.sleep(0.02)
        return list(self.received)

    def matching(self, to: str, about: str) -> list[Received]:
        """Mails to `to` whose subject contains `about` ("Reset", "Confirm", "changed", ...), oldest first."""
        return [mail for mail in self.received if mail.to == to and about in mail.subject]

    async def mail(self, to: str, about: str, count: int = 1, within: float = 10.0) -> Received:
        """The newest mail to `to` about `about`, once at least `count` of them have arrived."""
        deadline = time.monotonic() + within
        while len(self.matching(to, about)) < count:
            assert time.monotonic() < deadline, (f"no mail to {to} about {about!r} in {within} s; got "
                                                 f"{[(m.to, m.subject) for m in self.received]}")
            await asyncio.sleep(0.02)
        return self.matching(to, about)[-1]

    def mail_sync(self, to: str, about: str, count: int = 1, within: float = 10.0) -> Received:
        deadline = time.monotonic() + within
        while len(self.matching(to, about)) < count:
            assert time.monotonic() < deadline, (f"no mail to {to} about {about!r} in {within} s; got "
                                                 f"{[(m.to, m.subject) for m in self.received]}")
            time.sleep(0.02)
        return self.matching(to, about)[-1]


def password_authenticator(login: str, password: str) -> Any:
    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            login.encode(), password.encode())
        return AuthResult(success=ok, handled=False, auth_data=auth_data)
    return authenticate


@dataclass
class Certificate:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context

    def client_context(self) -> ssl.SSLContext:
        """Trusts this certificate only, and checks it names 127.0.0.1."""
        return ssl.create_default_context(cafile=str(self.cert))


def self_signed_certificate(folder: Path) -> Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    folder.mkdir(parents=True, exist_ok=True)
    paths = Certificate(folder / "cert.pem", folder / "key.pem")
    paths.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths.key.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()))
    return paths


@dataclass
class MailgunCall:
    path: str
    authorization: tuple[str, str] | None
    form: dict[str, str]


class FakeMailgun:
    """Answers `POST /<anything>/<domain>/messages` like Mailgun: 200 and an id, or `status` when set."""

    def __init__(self) -> None:
        self.calls: list[MailgunCall] = []
        self.status = 200
        self.app = tornado.web.Application([(r"/.*", _MailgunHandler, {"fake": self})])


class _MailgunHandler(tornado.web.RequestHandler):
    def initialize(self, fake: FakeMailgun) -> None:
        self.fake = fake

    def post(self) -> None:
        header = self.request.headers.get("Authorization", "")
        scheme, _, encoded = header.partition(" ")
        authorization = tuple(base64.b64decode(encoded).decode().split(":", 1)) if scheme == "Basic" else None
        form = {key: values[0] for key, values in parse_qs(self.request.body.decode(), strict_parsing=True).items()}
        assert self.request.headers["Content-Type"] == "application/x-www-form-urlencoded"
        self.fake.calls.append(MailgunCall(self.request.path, authorization, form))  # type: ignore[arg-type]
        self.set_status(self.fake.status)
        if self.fake.status == 200:
            self.finish({"id": "<20261125.1@mg.example.com>", "message": "Queued. Thank you."})
        else:
            self.finish({"message": "'to' parameter is not a valid address. please check documentation"})


def mail_settings(smtp: SmtpServer, **more: Any) -> dict[str, Any]:
    """Settings that send mail to `smtp`, retrying fast."""
    return {"mail_backend": "smtp", "smtp_host": "127.0.0.1", "smtp_port": smtp.port, "smtp_security": "none",
            "mail_retry_base_seconds": 0.05, "mail_retry_max_seconds": 0.5, "mail_send_timeout_seconds": 5, **more}


async def settle(outbox: Any) -> None:
    """Wait until the mail worker has dealt with every queued message."""
    for _ in range(500):
        if await outbox.pending() == 0:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the outbox did not empty")


@dataclass
class RecordingNotifier:
    """Stands in for the mailer: remembers every notice instead of sending it."""

    deleted: list[tuple[str, str]] = field(default_factory=list)

    async def account_deleted(self, email: str, name: str) -> None:
        self.deleted.append((email, name))
