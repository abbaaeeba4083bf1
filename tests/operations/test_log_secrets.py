"""No log line or traceback ever carries a token, a code, a password or a link token (issue 12, item 6).

Every route family is driven with secrets in its query, its body and its headers, a handler is made to fail
with secrets in its message and its locals, Tornado itself is made to complain about a request; then every
record captured on every logger, at every level, is rendered (exception included) and searched.
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
import re
import urllib.parse
from typing import Any

import pytest
import tornado.httpclient
import tornado.ioloop
from support.api import PASSWORD, Api
from support.mail import SmtpServer, mail_settings, settle
from support.providers import FakeProviders, social_settings

from handlers.application import make_app
from handlers.base import BaseHandler
from services.operations.log_format import JsonFormatter, configure_logging
from services.wiring import Services

APP_PAGE = "https://app.example.com/signed-in"
XSRF_FIELD = re.compile(r'name="_xsrf" value="([^"]+)"')
# What a client sends that must never come back in a log line: some shaped like tokens, some like passwords.
SENT = {
    "query": "Qy7tK2pX9vLmZ4wR8sN1bC6d",
    "encoded_query": "eNc0dedQu3ryS3cr3tV4lue99",
    "body": "correct horse battery staple 42",
    "header": "HdR5eCr3tT0k3nV4lu3Xy8Zq",
    "cookie": "C00k1eSt4teV4lu3Mn8Bv7Cx",
    "code": "pr0v1derC0deF0rTh3Fl0w77",
    "state": "St4teN0tM1ne9Kj8Hg7Fd6Sa",
    "password_in_email": "Tr0ub4dor&3 typed in the wrong field",
}


@pytest.fixture
def settings(mailbox: SmtpServer, fake_providers: FakeProviders, base_url: str) -> dict[str, Any]:
    return {**social_settings(fake_providers, base_url), **mail_settings(mailbox)}


class Boom(BaseHandler):
    """A handler with a bug: its exception repeats what the client sent, and a fresh token, in its message."""

    async def post(self) -> None:
        token = self.get_query_argument("token")  # a local holding a secret, for a formatter that prints locals
        password = self.json_body().text("password")
        raise ValueError(f"cannot handle {self.request.uri} for {password!r} with {token}; "
                         f"Location: {APP_PAGE}\r\n#access_token={self.bearer_token()}")


@pytest.fixture
def app(services: Services) -> Any:
    application = make_app(services)
    application.add_handlers(r".*", [(r"/test/boom", Boom)])
    return application


class Client:
    """The API, keeping every secret it sends or is handed so that the test can look for them in the logs."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.secrets: set[str] = {PASSWORD, *SENT.values()}

    def keep(self, *values: str) -> None:
        self.secrets.update(value for value in values if value)

    async def call(self, method: str, path: str, json_body: Any = None, token: str | None = None,
                   headers: dict[str, str] | None = None, body: str | None = None) -> Any:
        """The request with secrets added to its query, headers and cookies (the body is the caller's)."""
        query = urllib.parse.urlencode({"token": SENT["query"], "code": SENT["code"], "state": SENT["state"]})
        # The same secret under names spelt in other cases and percent-encodings than the ones we know.
        query += f"&%74oken={SENT['encoded_query']}&PASSWORD={SENT['encoded_query']}&Access%5FToken=x{SENT['query']}"
        sent_headers = {"Authorization": f"Bearer {SENT['header']}", "Cookie": f"auth_oauth_state={SENT['cookie']}",
                        "X-Api-Key": SENT["header"], **(headers or {})}
        if token is not None:
            sent_headers["python-auth"] = f"Bearer {token}"
        separator = "&" if "?" in path else "?"
        response = await self.api.request(method, f"{path}{separator}{query}", json_body=json_body, body=body,
                                          headers=sent_headers)
        self.keep(*self._tokens_in(response.body))
        return response

    def _tokens_in(self, body: bytes) -> list[str]:
        try:
            answer = json.loads(body)
        except ValueError:
            return []
        found = answer.get("tokens", answer) if isinstance(answer, dict) else {}
        return [value for key, value in found.items() if key.endswith("_token") and isinstance(value, str)]


def rendered(records: list[logging.LogRecord]) -> list[str]:
    """Each record as the text and the JSON formatters print it, with its exception and stack."""
    text, structured = logging.Formatter("%(name)s %(levelname)s %(message)s"), JsonFormatter()
    lines = []
    for record in records:
        lines.append(text.format(record))
        lines.append(structured.format(record))
        lines.append(repr(record.__dict__))  # what a handler of its own (a Sentry integration) could read
    return lines


def leaks(records: list[logging.LogRecord], secrets: set[str]) -> list[tuple[str, str]]:
    # The test's own SMTP server (aiosmtpd, `mail.log`) logs the mails it receives: it is not the auth server.
    ours = [record for record in records if not record.name.startswith("mail.log")]
    return [(secret[:10], line[:160]) for line in rendered(ours) for secret in secrets if secret in line]


@pytest.mark.gen_test(timeout=60)
async def test_no_log_record_of_any_route_family_carries_a_secret(
        api: Api, mailbox: SmtpServer, services: Services, fake_providers: FakeProviders, base_url: str,
        http_client: tornado.httpclient.AsyncHTTPClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, every level
    client = Client(api)
    body = {"password": SENT["body"], "token": SENT["body"], "email": SENT["password_in_email"]}

    # meta, operations, unknown addresses
    for path in ("/", "/settings", "/settings/keys", "/.well-known/jwks.json", "/openapi.json", "/healthz",
                 "/readyz", "/metrics", "/no/such/page", f"/{SENT['query']}"):
        await client.call("GET", path)
    # sign-up, login, refresh in both forms, with the password typed into the email field once
    assert (await client.call("POST", "/signup", {"name": "Omar", "email": "omar@quazi.co",
                                                  "password": PASSWORD})).status == 200
    assert (await client.call("POST", "/login", {"email": SENT["password_in_email"], "password": PASSWORD})).status \
        == 401
    login = await client.call("POST", "/login", {"email": "omar@quazi.co", "password": PASSWORD,
                                                 "fresh_token": True})
    tokens = login.json["tokens"]
    await client.call("GET", f"/refresh?token={tokens['refresh_token']}")
    await client.call("POST", "/refresh", {"token": tokens["refresh_token"]})
    await client.call("POST", "/login", body)
    # the user, its sessions, its picture, its export
    access = tokens["access_token"]
    for method, path in (("GET", "/user"), ("GET", "/user/export"), ("GET", "/user/sessions"),
                         ("DELETE", "/user/avatar"), ("GET", "/user/identities")):
        await client.call(method, path, token=access)
    await client.call("PATCH", "/user", {"name": "Omar Q", "password": SENT["body"]}, token=access)
    await client.call("PUT", "/user/avatar", body=SENT["body"], token=access,
                      headers={"Content-Type": "image/png"})
    # mailed links: the JSON API and the pages
    await client.call("POST", "/verify/resend", {"email": "omar@quazi.co"})
    await client.call("POST", "/password/forgot", {"email": "omar@quazi.co"})
    await settle(services.mail.outbox)
    verify = (await mailbox.mail("omar@quazi.co", "onfirm")).token("verify-email")
    reset = (await mailbox.mail("omar@quazi.co", "Reset")).token("reset-password")
    client.keep(verify, reset)
    page = await api.get("/reset-password?" + urllib.parse.urlencode({"token": reset}))
    xsrf = html.unescape(XSRF_FIELD.search(page.body.decode())[1])  # type: ignore[index]
    cookie = page.headers["Set-Cookie"].split(";")[0]
    await api.get("/verify-email?" + urllib.parse.urlencode({"token": verify}))
    await api.request("POST", "/reset-password", headers={"Cookie": cookie,
                                                          "Content-Type": "application/x-www-form-urlencoded"},
                      body=urllib.parse.urlencode({"_xsrf": xsrf, "token": reset, "password": SENT["body"],
                                                   "password_confirmation": "not the same"}))
    await client.call("POST", "/verify", {"token": verify})
    await client.call("POST", "/password/reset", {"token": reset, "password": SENT["body"]})
    # social: a mobile ID token, then the browser flow through the provider and back with the tokens
    id_token = fake_providers.id_token()
    client.keep(id_token)
    await client.call("POST", "/login/google", {"id_token": id_token, "nonce": SENT["body"]})
    async def browse(url: str, cookie: str = "") -> tornado.httpclient.HTTPResponse:
        return await http_client.fetch(url if url.startswith("http") else base_url + url, follow_redirects=False,
                                       raise_error=False, headers={"Cookie": cookie} if cookie else {})

    start = await browse("/authorize/google?" + urllib.parse.urlencode({"redirect_to": APP_PAGE}))
    state_cookie = start.headers["Set-Cookie"].split(";")[0]
    consent = await browse(start.headers["Location"])
    callback = consent.headers["Location"]
    back = await browse(callback, cookie=state_cookie)
    fragment = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(back.headers["Location"]).fragment))
    client.keep(state_cookie.split("=", 1)[1], fragment.get("access_token", ""), fragment.get("refresh_token", ""),
                *dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(callback).query)).values())
    assert fragment.get("access_token"), fragment
    linking = await client.call("POST", "/user/identities/google", {"redirect_to": APP_PAGE}, token=access)
    client.keep(*dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(
        linking.json.get("authorize_url", "")).query)).values())
    # the end of sessions
    await client.call("POST", "/logout", token=access)
    await client.call("POST", "/logout/all", token=fragment["access_token"])
    # a bug: the handler's exception repeats the secrets; and a 500 it is
    failed = await client.call("POST", "/test/boom", {"password": SENT["body"]}, token=access)
    assert failed.status == 500 and failed.json["code"] == "auth/internal-error"

    assert len(client.secrets) > 15
    assert not leaks(caplog.records, client.secrets)
    assert "/refresh?token=[redacted]" in caplog.text  # the access log was captured, and redacted
    [crash] = [record for record in caplog.records if record.name == "auth.http" and "boom" in record.getMessage()]
    assert crash.levelno == logging.ERROR and crash.exc_info is None  # no live frames for any handler to walk
    assert crash.exc_text and "ValueError" in crash.exc_text and "in post" in crash.exc_text
    assert "[redacted]" in crash.exc_text  # the traceback is there, without what it repeated


@pytest.mark.parametrize("query", [
    "token={}", "%74oken={}", "TOKEN={}", "t%6Fken={}", "Token={}&fresh_token=true", "access%5Ftoken={}",
    "refresh_token={}", "id_token={}", "link_token={}", "code={}", "state={}", "password={}", "new_password={}",
    "client_secret={}", "anything_else={}", "{}", "%2574oken={}", "to%6B%65n={}",
])
@pytest.mark.gen_test
async def test_the_access_log_redacts_every_query_value_whatever_its_name_is_spelt(
        api: Api, caplog: pytest.LogCaptureFixture, query: str) -> None:
    caplog.set_level(logging.INFO, logger="auth.access")
    await api.get("/refresh?" + query.format(SENT["query"]))
    [line] = [record.getMessage() for record in caplog.records if record.name == "auth.access"]
    assert SENT["query"] not in line and "[redacted]" in line, line


@pytest.mark.gen_test
async def test_harmless_query_values_stay_readable(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="auth.access")
    await api.get("/authorize/nope?fresh_token=true&redirect_to=x")
    [line] = [record.getMessage() for record in caplog.records if record.name == "auth.access"]
    assert "/authorize/nope?fresh_token=true&redirect_to=[redacted]" in line, line


@pytest.mark.gen_test
async def test_tornados_own_complaints_about_a_request_carry_no_secret(
        api: Api, base_url: str, caplog: pytest.LogCaptureFixture) -> None:
    """A header Tornado cannot parse: it says so on `tornado.general`, quoting the header it refused."""
    caplog.set_level(logging.DEBUG)
    port = urllib.parse.urlsplit(base_url).port
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET /user?token={SENT['query']} HTTP/1.1\r\nHost: x\r\n"
                 f"python-auth: Bearer {SENT['header']}\x01\r\n\r\n".encode())
    await writer.drain()
    await reader.read()  # Tornado hangs up
    writer.close()
    await api.get("/healthz")  # the server is still there
    assert [r for r in caplog.records if r.name == "tornado.general"], "Tornado said nothing: nothing was tested"
    assert not leaks(caplog.records, set(SENT.values()))


@pytest.mark.gen_test
async def test_a_failing_loop_callback_is_logged_without_its_secrets(
        app: Any, caplog: pytest.LogCaptureFixture) -> None:
    """`tornado.application` logs a callback's exception with the callback's repr and traceback."""
    caplog.set_level(logging.DEBUG)
    done = asyncio.Event()

    def callback(secret: str) -> None:
        done.set()
        raise RuntimeError(f"lost the session of Bearer {secret} (code={SENT['code']}, state: '{SENT['state']}')")

    tornado.ioloop.IOLoop.current().add_callback(callback, SENT["header"])
    await done.wait()
    await asyncio.sleep(0.05)
    assert [r for r in caplog.records if r.name == "tornado.application"], "nothing was logged: nothing was tested"
    assert not leaks(caplog.records, set(SENT.values()))


def test_every_line_the_process_writes_passes_the_redaction(capsys: pytest.CaptureFixture[str]) -> None:
    """configure_logging's handler: a live exception with a token in its message, on a logger of our own."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        configure_logging("DEBUG", "json")
        token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"
        try:
            raise KeyError(f"refresh_token={token}")
        except KeyError:
            logging.getLogger("auth.anything").exception("lost Bearer %s (client_secret=%s)", token, SENT["code"])
        readable = "picture avatars/AbCdEf0123456789_-AbCdEf0123456789.png kept; set JWT_KEYS_AUTO_GENERATE=false"
        logging.getLogger("auth.anything").warning(readable)
        *_, crash, warning = (json.loads(line) for line in capsys.readouterr().err.strip().splitlines())
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])
    assert token not in json.dumps(crash) and SENT["code"] not in json.dumps(crash)
    assert "KeyError" in crash["exception"] and "Traceback" in crash["exception"]
    assert warning["message"] == readable  # what an operator must read stays readable

