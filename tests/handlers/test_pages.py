"""The HTML pages behind the mailed links, over HTTP: a GET only shows, a POST needs its XSRF token,
each outcome has its page, and every page is sent with a strict security policy.
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from support.api import Api, Response, with_settings
from support.mail import SmtpServer, mail_settings, settle
from support.pages import Page, heading, open_page, submit

from services.tokens import ActionTokenStore

NEW_PASSWORD = "A brand new passphrase 77"


@pytest.fixture
def settings(mailbox: SmtpServer, request: pytest.FixtureRequest) -> dict[str, Any]:
    return mail_settings(mailbox, **getattr(request, "param", {}))


async def reset_link(api: Api, mailbox: SmtpServer, count: int = 1) -> str:
    if count == 1:
        assert (await api.signup()).status == 200
    assert (await api.post("/password/forgot", {"email": "omar@quazi.co"})).status == 200
    link = (await mailbox.mail("omar@quazi.co", "Reset", count=count)).link("reset-password")
    return link.removeprefix("http://localhost:8080")


def assert_page(page: Page) -> None:
    """What every page must be: HTML, under a policy that allows nothing inline, never framed or cached."""
    headers = page.headers
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    policy = headers["Content-Security-Policy"]
    for directive in ("default-src 'none'", "style-src 'self'", "form-action 'self'", "frame-ancestors 'none'",
                      "base-uri 'none'"):
        assert directive in policy, policy
    assert "unsafe" not in policy and "script-src" not in policy
    assert (headers["Referrer-Policy"], headers["X-Frame-Options"]) == ("no-referrer", "DENY")
    assert (headers["X-Content-Type-Options"], headers["Cache-Control"]) == ("nosniff", "no-store")
    assert page.html.startswith("<!DOCTYPE html>\n<html lang=\"en\">")
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page.html
    assert "<script" not in page.html and "<style" not in page.html and " style=" not in page.html
    for field_id in re.findall(r'<input id="([^"]+)"', page.html):
        assert f'<label for="{field_id}">' in page.html, field_id


@pytest.mark.gen_test
async def test_the_reset_page_shows_a_form_and_uses_nothing_up(api: Api, mailbox: SmtpServer) -> None:
    link = await reset_link(api, mailbox)
    for _ in range(2):  # mail scanners may open a link any number of times
        page = await open_page(api, link)
        assert page.status == 200 and heading(page) == "Choose a new password"
        assert_page(page)
    assert 'name="password" type="password" autocomplete="new-password" required' in page.html
    assert 'minlength="12"' in page.html and "At least 12 characters" in page.html  # PASSWORD_MIN_LENGTH's default
    assert 'autocomplete="username" value="omar@quazi.co"' in page.html
    cookie = page.headers["Set-Cookie"]
    assert "_xsrf=" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie

    done = await submit(api, "/reset-password", page, token=link.partition("token=")[2], password=NEW_PASSWORD,
                        password_confirmation=NEW_PASSWORD)
    assert (done.status, heading(done)) == (200, "Your password has been changed"), done.html
    assert_page(done)
    assert (await api.login(password=NEW_PASSWORD)).status == 200


@pytest.mark.gen_test
async def test_a_form_without_its_xsrf_token_changes_nothing(api: Api, mailbox: SmtpServer) -> None:
    link = await reset_link(api, mailbox)
    page = await open_page(api, link)
    form = {"token": link.partition("token=")[2], "password": NEW_PASSWORD, "password_confirmation": NEW_PASSWORD}
    other = await open_page(api, "/forgot-password")  # another visitor's cookie
    forged = [
        await submit(api, "/reset-password", None, **form),  # a cross-site form: no cookie, no field
        await submit(api, "/reset-password", Page(0, None, page.html, ""), **form),  # the field without the cookie
        await submit(api, "/reset-password", Page(0, None, page.html, other.cookie), **form),  # mismatched
    ]
    for answer in forged:
        assert (answer.status, heading(answer)) == (403, "This form has expired")
        assert_page(answer)
    assert (await open_page(api, link)).status == 200  # the link still works
    assert (await api.login(password=NEW_PASSWORD)).status == 401


@pytest.mark.gen_test
async def test_mistakes_in_the_form_show_it_again_with_the_message(api: Api, mailbox: SmtpServer) -> None:
    link = await reset_link(api, mailbox)
    page = await open_page(api, link)
    token = link.partition("token=")[2]
    differ = await submit(api, "/reset-password", page, token=token, password=NEW_PASSWORD,
                          password_confirmation="Something else 123")
    assert differ.status == 400 and "The two passwords are not the same." in differ.html
    assert 'role="alert"' in differ.html and 'aria-invalid="true"' in differ.html
    assert NEW_PASSWORD not in differ.html  # never echoed back
    common = await submit(api, "/reset-password", differ, token=token, password="password123",
                          password_confirmation="password123")
    assert common.status == 400 and "most common passwords" in common.html
    done = await submit(api, "/reset-password", common, token=token, password=NEW_PASSWORD,
                        password_confirmation=NEW_PASSWORD)
    assert done.status == 200


@pytest.mark.gen_test
async def test_each_link_problem_says_what_happened_and_offers_a_new_link(api: Api, mailbox: SmtpServer,
                                                                         services: Any) -> None:
    link = await reset_link(api, mailbox)
    token = link.partition("token=")[2]
    invalid = await open_page(api, "/reset-password?token=not-a-token")
    assert (invalid.status, heading(invalid)) == (400, "This link does not work")
    assert 'action="/forgot-password"' in invalid.html and 'name="email"' in invalid.html
    assert_page(invalid)
    missing = await open_page(api, "/reset-password")
    assert (missing.status, heading(missing)) == (400, "This link does not work")

    page = await open_page(api, link)
    await submit(api, "/reset-password", page, token=token, password=NEW_PASSWORD, password_confirmation=NEW_PASSWORD)
    used = await open_page(api, link)
    assert (used.status, heading(used)) == (410, "This link has already been used")
    assert 'action="/forgot-password"' in used.html

    newer = await reset_link(api, mailbox, count=2)
    await services.redis.hset(ActionTokenStore.key(token.partition(".")[0], "reset"), "expires_at",
                              int(time.time()) - 1)
    expired = await open_page(api, newer)
    assert (expired.status, heading(expired)) == (410, "This link has expired")
    assert_page(expired)

    verify = await open_page(api, "/verify-email?token=nonsense")
    assert (verify.status, heading(verify)) == (400, "This link does not work")
    assert 'action="/verify-email/resend"' in verify.html


@pytest.mark.gen_test
async def test_the_verify_page_confirms_only_when_its_button_is_pressed(api: Api, mailbox: SmtpServer) -> None:
    assert (await api.signup()).status == 200
    link = (await mailbox.mail("omar@quazi.co", "Confirm")).link("verify-email").removeprefix("http://localhost:8080")
    page = await open_page(api, link)
    assert (page.status, heading(page)) == (200, "Confirm your email address")
    assert "omar@quazi.co" in page.html and ">Confirm my address</button>" in page.html
    assert_page(page)
    login = (await api.login()).json
    assert not login["email_verified"]
    done = await submit(api, "/verify-email", page, token=link.partition("token=")[2])
    assert (done.status, heading(done)) == (200, "Email address confirmed")
    assert (await api.login()).json["email_verified"]
    again = await submit(api, "/verify-email", page, token=link.partition("token=")[2])
    assert (again.status, heading(again)) == (410, "This link has already been used")


@pytest.mark.parametrize(("path", "about"), [("/forgot-password", "Reset"), ("/verify-email/resend", "Confirm")])
@pytest.mark.gen_test
async def test_the_request_forms_answer_alike_for_every_address(api: Api, mailbox: SmtpServer, services: Any,
                                                                path: str, about: str) -> None:
    assert (await api.signup()).status == 200
    await settle(services.mail.outbox)
    page = await open_page(api, path)
    assert page.status == 200 and 'type="email" autocomplete="email" required' in page.html
    assert_page(page)
    answers = [await submit(api, path, page, email=email) for email in ("omar@quazi.co", "nobody@quazi.co")]
    assert {(answer.status, answer.html) for answer in answers} == {(200, answers[0].html)}
    assert heading(answers[0]) == "Check your inbox"
    await settle(services.mail.outbox)
    assert mailbox.matching("nobody@quazi.co", about) == []
    assert len(mailbox.matching("omar@quazi.co", about)) == (2 if about == "Confirm" else 1)

    wrong = await submit(api, path, page, email="not an address")
    assert wrong.status == 400 and 'role="alert"' in wrong.html and 'value="not an address"' in wrong.html


@with_settings(rate_limit_mail="1/1h")
@pytest.mark.gen_test
async def test_a_request_form_over_its_quota_says_when_to_retry(api: Api, settings: dict[str, Any]) -> None:
    page = await open_page(api, "/forgot-password")
    assert (await submit(api, "/forgot-password", page, email="a@quazi.co")).status == 200
    limited = await submit(api, "/forgot-password", page, email="b@quazi.co")
    assert limited.status == 429 and int(limited.headers["Retry-After"]) >= 1
    assert "Too many requests" in limited.html


@pytest.mark.gen_test
async def test_the_stylesheet_and_logo_are_static_files(api: Api) -> None:
    page = await open_page(api, "/forgot-password")
    css_url = re.search(r'<link rel="stylesheet" href="([^"]+)">', page.html)[1]  # type: ignore[index]
    assert re.fullmatch(r"/static/pages\.css\?v=[0-9a-f]{12}", css_url)
    css = await api.get(css_url)
    assert css.status == 200 and css.headers["Content-Type"] == "text/css; charset=utf-8"
    assert css.headers["Cache-Control"] == "public, max-age=86400" and b":focus-visible" in css.body
    logo = await api.get("/static/logo.svg")
    assert logo.headers["Content-Type"].startswith("image/svg+xml")
    assert logo.headers["Content-Security-Policy"].startswith("default-src 'none'")  # an SVG runs no script here
    missing: Response = await api.get("/static/nothing.css")
    assert (missing.status, missing.json["code"]) == (404, "auth/not-found")


@with_settings(app_url="https://login.example.com/auth/", app_logo_url="https://cdn.example.com/logo.png")
@pytest.mark.gen_test
async def test_pages_behind_a_path_prefix_and_over_https(api: Api, settings: dict[str, Any]) -> None:
    page = await open_page(api, "/forgot-password")
    assert 'href="/auth/static/pages.css?v=' in page.html and 'action="/auth/forgot-password"' in page.html
    assert "img-src 'self' https://cdn.example.com;" in page.headers["Content-Security-Policy"]
    assert "Secure" in page.headers["Set-Cookie"]
