"""The mailers against real local servers: aiosmtpd for SMTP (plain, STARTTLS with a login, implicit TLS)
and a stand-in for Mailgun's HTTP API that checks what it is sent; the console mailer prints links.
"""

from __future__ import annotations

import io
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest
import tornado.httpserver
from support.mail import Certificate, FakeMailgun, SmtpServer, password_authenticator, self_signed_certificate
from support.processes import free_port

from services.config import load_config
from services.mail.mailers import (
    ConsoleMailer,
    Mail,
    MailgunMailer,
    PermanentMailError,
    SmtpMailer,
    build_mailer,
    sender_address,
)

SENDER = '"Python JWT Auth" <no-reply@example.com>'
MAIL = Mail(to="omar@quazi.co", subject="Reset your password",
            text="Open https://auth.example.com/reset-password?token=abc to reset it.\n",
            html='<p><a href="https://auth.example.com/reset-password?token=abc">Reset</a> &amp; more</p>')


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def tls_server(certificate: Certificate) -> Iterator[SmtpServer]:
    """STARTTLS required, and a login required over it."""
    server = SmtpServer(free_port())
    server.start(tls_context=certificate.server_context(), require_starttls=True, auth_required=True,
                 auth_require_tls=True, authenticator=password_authenticator("mailer", "s3cret"))
    yield server
    server.stop()


def smtp(server: SmtpServer, security: str = "none", username: str = "", password: str = "",
         certificate: Certificate | None = None) -> SmtpMailer:
    return SmtpMailer(SENDER, "127.0.0.1", server.port, security, username, password, timeout=5,
                      tls_context=certificate.client_context() if certificate else None)


# --- SMTP ---------------------------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_smtp_sends_plain_text_with_an_html_alternative(mailbox: SmtpServer) -> None:
    await smtp(mailbox).send(MAIL)
    [received] = await mailbox.wait_for(1)
    message = received.message
    assert received.recipients == ["omar@quazi.co"]
    sender = message["From"].addresses[0]
    assert (sender.display_name, sender.addr_spec) == ("Python JWT Auth", "no-reply@example.com")
    assert (message["To"], message["Subject"]) == ("omar@quazi.co", "Reset your password")
    assert message["Auto-Submitted"] == "auto-generated" and message["Message-ID"].endswith("@example.com>")
    assert message.get_content_type() == "multipart/alternative"
    assert received.text.replace("\r\n", "\n") == MAIL.text
    assert received.html.strip() == MAIL.html


@pytest.mark.gen_test
async def test_smtp_with_starttls_and_a_login(tls_server: SmtpServer, certificate: Certificate) -> None:
    await smtp(tls_server, "starttls", "mailer", "s3cret", certificate).send(MAIL)
    [received] = await tls_server.wait_for(1)
    assert received.tls and received.login == "mailer"


@pytest.mark.gen_test
async def test_smtp_with_a_wrong_password_fails(tls_server: SmtpServer, certificate: Certificate) -> None:
    with pytest.raises(aiosmtplib.SMTPAuthenticationError):
        await smtp(tls_server, "starttls", "mailer", "wrong", certificate).send(MAIL)
    assert tls_server.received == []


@pytest.mark.gen_test
async def test_smtp_checks_the_server_certificate(tls_server: SmtpServer) -> None:
    with pytest.raises((aiosmtplib.SMTPException, ssl.SSLError)):  # a self-signed certificate we were not told to trust
        await smtp(tls_server, "starttls", "mailer", "s3cret").send(MAIL)
    assert tls_server.received == []


@pytest.mark.gen_test
async def test_starttls_never_falls_back_to_plain_text(mailbox: SmtpServer) -> None:
    with pytest.raises(aiosmtplib.SMTPException):  # this server offers no STARTTLS
        await smtp(mailbox, "starttls").send(MAIL)
    assert mailbox.received == []


@pytest.mark.gen_test
async def test_smtp_with_implicit_tls(certificate: Certificate) -> None:
    server = SmtpServer(free_port())
    server.start(ssl_context=certificate.server_context())
    try:
        await smtp(server, "tls", certificate=certificate).send(MAIL)
        [received] = await server.wait_for(1)
    finally:
        server.stop()
    assert received.tls


@pytest.mark.gen_test
async def test_a_refused_recipient_is_a_permanent_failure(mailbox: SmtpServer) -> None:
    mailbox.capture.refuse.add("omar@quazi.co")
    with pytest.raises(PermanentMailError, match="550"):
        await smtp(mailbox).send(MAIL)


@pytest.mark.gen_test
async def test_a_mail_server_that_is_down_is_a_failure_to_retry() -> None:
    with pytest.raises(Exception) as caught:
        await SmtpMailer(SENDER, "127.0.0.1", free_port(), "none", "", "", timeout=2).send(MAIL)
    assert not isinstance(caught.value, PermanentMailError)


# --- Mailgun ------------------------------------------------------------------------------------------


@pytest.fixture
def mailgun(io_loop: Any) -> Iterator[tuple[FakeMailgun, str]]:
    fake = FakeMailgun()
    server = tornado.httpserver.HTTPServer(fake.app)
    port = free_port()
    server.listen(port, "127.0.0.1")
    yield fake, f"http://127.0.0.1:{port}"
    server.stop()


@pytest.mark.gen_test
async def test_mailgun_gets_the_form_it_documents(mailgun: tuple[FakeMailgun, str]) -> None:
    fake, url = mailgun
    await MailgunMailer(SENDER, f"{url}/v3", "mg.example.com", "key-123", timeout=5).send(MAIL)
    [call] = fake.calls
    assert call.path == "/v3/mg.example.com/messages"
    assert call.authorization == ("api", "key-123")
    assert {key: call.form[key] for key in ("from", "to", "subject", "text", "html")} == {
        "from": SENDER, "to": MAIL.to, "subject": MAIL.subject, "text": MAIL.text, "html": MAIL.html}
    # Tracking would send single-use links through Mailgun's redirector.
    assert (call.form["o:tracking"], call.form["o:tracking-clicks"], call.form["o:tracking-opens"]) == ("no",) * 3


@pytest.mark.gen_test
async def test_mailgun_in_the_eu_region_is_just_another_base_url(mailgun: tuple[FakeMailgun, str]) -> None:
    fake, url = mailgun  # stands in for https://api.eu.mailgun.net/v3
    await MailgunMailer(SENDER, f"{url}/eu/v3/", "mg.example.eu", "key-eu", timeout=5).send(MAIL)
    assert [call.path for call in fake.calls] == ["/eu/v3/mg.example.eu/messages"]


@pytest.mark.parametrize(("status", "permanent"), [(400, True), (404, True), (401, False), (429, False),
                                                   (500, False), (503, False)])
@pytest.mark.gen_test
async def test_mailgun_failures_say_whether_to_retry(mailgun: tuple[FakeMailgun, str], status: int,
                                                     permanent: bool) -> None:
    fake, url = mailgun
    fake.status = status
    with pytest.raises(Exception) as caught:
        await MailgunMailer(SENDER, f"{url}/v3", "mg.example.com", "key-123", timeout=5).send(MAIL)
    assert isinstance(caught.value, PermanentMailError) is permanent
    assert str(status) in str(caught.value)


# --- console and choice -------------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_the_console_mailer_prints_the_mail_and_its_links() -> None:
    stream = io.StringIO()
    await ConsoleMailer(SENDER, stream).send(MAIL)
    printed = stream.getvalue()
    assert "To: omar@quazi.co" in printed and "Subject: Reset your password" in printed
    assert "https://auth.example.com/reset-password?token=abc" in printed


def test_the_backend_is_chosen_by_mail_backend(tmp_path: Path) -> None:
    assert isinstance(build_mailer(load_config(None, environ={})), ConsoleMailer)
    assert isinstance(build_mailer(load_config(None, environ={}, mail_backend="smtp")), SmtpMailer)
    mailgun = load_config(None, environ={}, mail_backend="mailgun", mailgun_api_key="k", mailgun_domain="mg.x.io",
                          mailgun_base_url="https://api.eu.mailgun.net/v3")
    assert isinstance(build_mailer(mailgun), MailgunMailer)
    assert sender_address(load_config(None, environ={}, app_name="Acme, Inc.", mail_from="hi@acme.io")) == \
        '"Acme, Inc." <hi@acme.io>'
