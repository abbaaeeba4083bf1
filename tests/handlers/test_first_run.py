"""Issue 12, item 19: what a first run on a laptop runs into. Links follow `serve --port`, the logo is the bundled
one (no outside address, so it works offline), the pages' Continue button goes where PAGES_CONTINUE_URL says
(never to the JSON root), a browser lost on an unknown address gets a page while an API client gets JSON, the
`keys list` table comes alone, and the messages are spelt right."""

from __future__ import annotations

import html
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from support.api import EMAIL, PASSWORD, Api, assert_error, login_tokens, with_settings
from support.mail import SmtpServer, mail_settings
from support.processes import SERVER, Server, free_port, server_environ, stop_server, wait_for, wait_until_serving

from services.config import ConfigError, load_config
from services.tokens import keyfiles

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"


@pytest.fixture
def settings(mailbox: SmtpServer, request: pytest.FixtureRequest) -> dict[str, Any]:
    return mail_settings(mailbox, **getattr(request, "param", {}))


# --- APP_URL follows the port while it is the default ------------------------------------------------------


def test_the_default_app_url_follows_the_port_and_a_chosen_one_stays() -> None:
    assert load_config(None, environ={}).app_url == "http://localhost:8080/"
    assert load_config(None, environ={}, port=9000).app_url == "http://localhost:9000/"
    assert load_config(None, environ={"PORT": "9001"}).app_url == "http://localhost:9001/"
    assert load_config(None, environ={"PORT": "0"}).app_url == "http://localhost:8080/", "no port to follow yet"
    chosen = {"APP_URL": "https://auth.example.com", "PORT": "9000"}
    assert load_config(None, environ=chosen).app_url == "https://auth.example.com/"


def test_serve_on_another_port_mails_links_to_that_port(tmp_path: Path) -> None:
    port = free_port()
    with (tmp_path / "stdout.log").open("wb") as stdout, (tmp_path / "stderr.log").open("wb") as stderr:
        process = subprocess.Popen([sys.executable, str(SERVER), "serve", "--port", str(port)], cwd=tmp_path,
                                   env=server_environ(JWT_KEYS=str(tmp_path / "keys"), DATA_DIR=str(tmp_path / "data"),
                                                      BCRYPT_COST="4"),
                                   stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, start_new_session=True)
    server = Server(process, port, tmp_path)
    try:
        wait_until_serving(server)
        assert f"links in mails start with http://localhost:{port}/" in server.stderr
        assert server.call("POST", "/signup", {"name": "Omar", "email": EMAIL, "password": PASSWORD})[0] == 200
        printed = tmp_path / "stdout.log"
        wait_for(lambda: "verify-email?token=" in printed.read_text())
        assert f"http://localhost:{port}/verify-email?token=" in printed.read_text()
        assert ":8080" not in printed.read_text()
    finally:
        stop_server(process)


# --- the bundled logo -----------------------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_the_default_logo_is_the_bundled_one_on_pages_and_in_mails(api: Api, mailbox: SmtpServer) -> None:
    page = await api.get("/forgot-password")
    assert '<img src="/static/logo.svg"' in page.body.decode()
    assert "img-src 'self';" in page.headers["Content-Security-Policy"], "no outside host to load it from"
    assert (await api.signup()).status == 200
    mail = await mailbox.mail(EMAIL, "Confirm")
    assert 'src="http://localhost:8080/static/logo.png"' in mail.html, "mail clients show PNG, not SVG"
    png = await api.get("/static/logo.png")
    assert (png.status, png.headers["Content-Type"]) == (200, "image/png")
    assert png.body.startswith(b"\x89PNG\r\n\x1a\n")
    assert "placehold" not in page.body.decode() + mail.html


# --- the Continue button -----------------------------------------------------------------------------------


async def confirmed_page(api: Api, mailbox: SmtpServer) -> str:
    """Sign up, open the mailed verification link and press its button, as a browser would: the page it ends on."""
    assert (await api.signup()).status == 200
    link = (await mailbox.mail(EMAIL, "Confirm")).link("verify-email").removeprefix("http://localhost:8080")
    shown = await api.get(link)
    cookie = shown.headers["Set-Cookie"].split(";")[0]
    xsrf = html.unescape(re.search(r'name="_xsrf" value="([^"]+)"', shown.body.decode())[1])  # type: ignore[index]
    done = await api.request("POST", "/verify-email", body=urlencode({"_xsrf": xsrf, "token": link.partition("=")[2]}),
                             headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
    assert done.status == 200, done.body
    return done.body.decode()


@with_settings(pages_continue_url="https://app.example.com/signed-in")
@pytest.mark.gen_test
async def test_the_continue_button_leads_where_pages_continue_url_says(api: Api, mailbox: SmtpServer,
                                                                     settings: dict[str, Any]) -> None:
    done = await confirmed_page(api, mailbox)
    assert '<a class="button" href="https://app.example.com/signed-in">Continue to Python JWT Auth</a>' in done
    assert '<a class="logo" href="https://app.example.com/signed-in">' in done


@pytest.mark.gen_test
async def test_without_pages_continue_url_no_button_leads_to_the_json_root(api: Api, mailbox: SmtpServer) -> None:
    done = await confirmed_page(api, mailbox)
    assert 'href="http://localhost:8080/"' not in done
    assert 'class="button"' not in done
    assert "You can close this page" in done


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,hi", "/relative", "ftp://files.example"])
def test_a_continue_url_that_is_no_safe_address_stops_the_start(url: str) -> None:
    with pytest.raises(ConfigError, match="PAGES_CONTINUE_URL"):
        load_config(None, environ={"PAGES_CONTINUE_URL": url})


def test_an_app_of_its_own_scheme_may_be_continued_to() -> None:
    assert load_config(None, environ={"PAGES_CONTINUE_URL": "myapp://signed-in"}).pages_continue_url == \
        "myapp://signed-in"


# --- 404: a page for browsers, JSON for API clients ------------------------------------------------------------


@pytest.mark.gen_test
async def test_a_browser_on_an_unknown_address_gets_a_page_and_an_api_client_json(api: Api) -> None:
    page = await api.get("/no/such/page", headers={"Accept": BROWSER})
    assert page.status == 404
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "Accept" in page.headers["Vary"]
    assert page.headers["Content-Security-Policy"].startswith("default-src 'none'; style-src 'self'")
    body = page.body.decode()
    assert body.startswith("<!DOCTYPE html>") and "<h1>Page not found</h1>" in body
    assert "There is nothing at this address." in body
    for accept in ("application/json", "*/*", "", "text/html;q=0.5, application/json"):
        answer = await api.get("/no/such/page", headers={"Accept": accept} if accept else {})
        assert_error(answer, 404, "auth/not-found")
        assert "Accept" in answer.headers["Vary"]
    assert (await api.get("/user", headers={"Accept": BROWSER})).headers["Content-Type"].startswith(
        "application/json"), "an API answer stays JSON whoever asks"


@with_settings(trusted_proxies=("127.0.0.1",))
@pytest.mark.gen_test
async def test_metrics_hidden_from_a_browser_look_like_any_unknown_address(api: Api, settings: dict[str, Any]) -> None:
    outside = {"Accept": BROWSER, "X-Forwarded-For": "203.0.113.9"}
    hidden, unknown = await api.get("/metrics", headers=outside), await api.get("/metricz", headers=outside)
    assert (hidden.status, hidden.body) == (unknown.status, unknown.body) == (404, unknown.body)


# --- the command line and the messages ----------------------------------------------------------------------


def test_keys_list_prints_its_table_and_nothing_else(tmp_path: Path) -> None:
    folder = tmp_path / "keys"
    kid = keyfiles.generate(folder, "ES256")
    result = subprocess.run([sys.executable, str(SERVER), "keys", "list"], cwd=tmp_path,
                            env=server_environ(JWT_KEYS=str(folder)), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, timeout=60, check=True)
    assert result.stdout.splitlines() == [f"{kid}  ES256   signing"]


@pytest.mark.gen_test
async def test_the_token_type_messages_say_a_and_an_rightly(api: Api) -> None:
    assert (await api.signup()).status == 200
    tokens = await login_tokens(api)
    wrong_kind = await api.post("/refresh", {"token": tokens["access_token"]})
    assert_error(wrong_kind, 401, "auth/token-invalid")
    assert wrong_kind.json["message"] == "This endpoint needs a refresh token."
    other_way = await api.get("/user", token=tokens["refresh_token"])
    assert other_way.json["message"] == "This endpoint needs an access token."
