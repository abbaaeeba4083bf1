"""The magic link's page without a browser (tests/handlers/test_browser.py has one): a GET shows a button and uses
nothing up, as a mail scanner's visit must not; the button's POST signs in and returns to an allow-listed
`redirect_to` with the tokens in the fragment, or says the sign-in is done."""

from __future__ import annotations

import urllib.parse
from typing import Any

import pytest
import tornado.httpclient
from support.api import Api
from support.mail import SmtpServer, mail_settings, settle
from support.pages import heading, local, open_page, submit

from services.wiring import Services

APP_PAGE = "https://app.example.com/signed-in"


@pytest.fixture
def settings(mailbox: SmtpServer) -> dict[str, Any]:
    return mail_settings(mailbox, social_redirect_allowlist=[APP_PAGE])


async def magic_link(api: Api, services: Services, mailbox: SmtpServer, email: str = "omar@quazi.co",
                     **body: Any) -> str:
    assert (await api.post("/otp", {"email": email, **body})).status == 200
    await settle(services.mail.outbox)
    return local((await mailbox.mail(email, "sign-in code")).link("magic-link"))


@pytest.mark.gen_test
async def test_a_scanners_get_uses_nothing_up_and_the_button_signs_in(api: Api, services: Services,
                                                                      mailbox: SmtpServer) -> None:
    link = await magic_link(api, services, mailbox)
    for _ in range(3):  # a mail scanner, a link preview, the person
        page = await open_page(api, link)
        assert page.status == 200 and heading(page) == "Sign in" and "omar@quazi.co" in page.html
    assert await services.users.find_by_email("omar@quazi.co") is None
    done = await submit(api, "/magic-link", page, token=link.partition("token=")[2])
    assert done.status == 200 and heading(done) == "You're signed in"
    assert "go back to the app" in done.html
    user = await services.users.find_by_email("omar@quazi.co")
    assert user is not None and user.email_verified
    again = await open_page(api, link)
    assert again.status == 410 and heading(again) == "This link has already been used"


@pytest.mark.gen_test
async def test_the_button_returns_to_redirect_to_with_the_tokens_in_the_fragment(
        api: Api, services: Services, mailbox: SmtpServer, http_client: tornado.httpclient.AsyncHTTPClient) -> None:
    link = await magic_link(api, services, mailbox, redirect_to=f"{APP_PAGE}?from=mail")
    page = await open_page(api, link)
    assert "form-action 'self' https://app.example.com;" in page.headers["Content-Security-Policy"]
    back = await http_client.fetch(  # not followed: the app's page is no server of ours
        api.base_url + "/magic-link", method="POST", follow_redirects=False, raise_error=False,
        body=urllib.parse.urlencode({"_xsrf": page.xsrf, "token": link.partition("token=")[2]}),
        headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": page.cookie})
    assert back.code == 303
    location = back.headers["Location"]
    assert location.startswith(f"{APP_PAGE}?from=mail#")
    fragment = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).fragment))
    assert fragment["status"] == "success" and fragment["token_type"] == "Bearer"
    me = await api.get("/user", token=fragment["access_token"])
    assert me.status == 200 and me.json["uid"] == fragment["uid"]


@pytest.mark.gen_test
async def test_the_form_needs_its_xsrf_token(api: Api, services: Services, mailbox: SmtpServer) -> None:
    link = await magic_link(api, services, mailbox)
    forged = await submit(api, "/magic-link", None, token=link.partition("token=")[2])
    assert forged.status == 403
    assert (await open_page(api, link)).status == 200  # still unused


@pytest.mark.gen_test
async def test_a_made_up_link_says_it_does_not_work(api: Api) -> None:
    page = await open_page(api, "/magic-link?token=made-up")
    assert page.status == 400 and heading(page) == "This link does not work"
