"""A change of address (issue 12, item 1: GoTrue's secure email change) over HTTP, with the mail caught by a local
SMTP server: `PATCH /user {"email"}` answers the seed's `auth/changed-email`, but the account keeps its address
until the new address confirms by link, and the current one too when the token was not fresh; the current
address can always cancel. A taken address gets the same answer, and its owner a notice.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from support.api import Api, assert_error, assert_revoked, login_tokens
from support.mail import Received, SmtpServer, mail_settings, settle
from support.pages import heading, local, open_page, submit

from services.tokens import ActionTokenStore

EMAIL = "omar@quazi.co"
NEW = "new@quazi.co"
THIEF = "thief@evil.example"
NOTICE, CONFIRM, TAKEN, CHANGED = "change of your", "Confirm your new", "tried to move", "address was changed"


@pytest.fixture
def settings(mailbox: SmtpServer, request: pytest.FixtureRequest) -> dict[str, Any]:
    return mail_settings(mailbox, **getattr(request, "param", {}))


async def change(api: Api, tokens: dict[str, str], address: str = NEW) -> None:
    response = await api.patch("/user", {"email": address}, token=tokens["access_token"])
    assert (response.status, response.json["code"]) == (200, "auth/changed-email"), response.body


async def confirm(api: Api, mail: Received) -> str:
    response = await api.post("/email-change/confirm", {"token": mail.token("confirm-email-change")})
    assert response.status == 200, response.body
    return response.json["code"]


async def address(api: Api, email: str = EMAIL) -> str:
    """The account's address as the user sees it, after logging in with `email`."""
    tokens = await login_tokens(api, email=email)
    return (await api.get("/user", token=tokens["access_token"])).json["email"]


@pytest.mark.gen_test(timeout=30)
async def test_a_stolen_non_fresh_token_cannot_move_the_account_to_another_mailbox(
        api: Api, mailbox: SmtpServer, services: Any) -> None:
    """The attack the issue reports: PATCH the address with a stolen token, then reset the password there."""
    owner = await api.signed_up_tokens()
    stolen = await login_tokens(api)
    await change(api, stolen, THIEF)
    # The thief's mailbox gets a confirmation, which is not enough: the owner's must confirm too.
    assert await confirm(api, await mailbox.mail(THIEF, CONFIRM)) == "auth/email-change-confirmed"
    assert (await api.post("/password/forgot", {"email": THIEF})).status == 200
    await settle(services.mail.outbox)
    assert mailbox.matching(THIEF, "Reset") == []  # no account has the thief's address
    assert_error(await api.login(email=THIEF), 401, "auth/invalid-credentials")
    assert await address(api) == EMAIL
    assert (await api.get("/user", token=owner["access_token"])).status == 200  # the owner's session carries on
    notice = await mailbox.mail(EMAIL, NOTICE)
    assert THIEF in notice.text and "/cancel-email-change?token=" in notice.text
    assert "/confirm-email-change?token=" in notice.text  # the confirmation only this mailbox can give


@pytest.mark.gen_test(timeout=30)
async def test_with_a_fresh_token_the_new_address_alone_completes_the_change(api: Api, mailbox: SmtpServer) -> None:
    fresh = await api.signed_up_tokens(fresh=True)
    other_device = await login_tokens(api)
    await change(api, fresh)
    notice = await mailbox.mail(EMAIL, NOTICE)
    assert "/cancel-email-change?token=" in notice.text and "/confirm-email-change" not in notice.text
    assert await address(api) == EMAIL  # not yet
    assert await confirm(api, await mailbox.mail(NEW, CONFIRM)) == "auth/email-change-completed"
    await assert_revoked(api, other_device)  # completing the change ends every token, as the seed's change did
    me = (await api.get("/user", token=(await login_tokens(api, email=NEW))["access_token"])).json
    assert (me["email"], me["email_verified"]) == (NEW, True)  # the link proved the new address
    assert_error(await api.login(email=EMAIL), 401, "auth/invalid-credentials")
    assert NEW in (await mailbox.mail(EMAIL, CHANGED)).text


@pytest.mark.gen_test(timeout=30)
async def test_without_a_fresh_token_both_addresses_confirm_in_either_order(api: Api, mailbox: SmtpServer) -> None:
    await api.signed_up_tokens()
    await change(api, await login_tokens(api))
    watcher = await login_tokens(api)
    pending = (await api.get("/user/email-change", token=watcher["access_token"])).json["email_change"]
    assert (pending["email"], pending["new_address_confirmed"], pending["current_address_confirmed"]) == (
        NEW, False, False)
    assert pending["expires_at"] - pending["requested_at"] == 86_400
    assert await confirm(api, await mailbox.mail(EMAIL, NOTICE)) == "auth/email-change-confirmed"
    pending = (await api.get("/user/email-change", token=watcher["access_token"])).json["email_change"]
    assert (pending["new_address_confirmed"], pending["current_address_confirmed"]) == (False, True)
    assert await address(api) == EMAIL
    assert await confirm(api, await mailbox.mail(NEW, CONFIRM)) == "auth/email-change-completed"
    await assert_revoked(api, watcher)
    assert await address(api, NEW) == NEW


@pytest.mark.gen_test(timeout=30)
async def test_the_current_address_cancels_on_its_page_and_every_session_ends(api: Api, mailbox: SmtpServer) -> None:
    await api.signed_up_tokens()
    thief = await login_tokens(api)
    await change(api, await login_tokens(api), THIEF)
    cancel_link = local((await mailbox.mail(EMAIL, NOTICE)).link("cancel-email-change"))
    page = await open_page(api, cancel_link)
    assert (page.status, heading(page)) == (200, "Cancel the email address change") and THIEF in page.html
    assert (await api.get("/user", token=thief["access_token"])).status == 200  # a GET changes nothing
    done = await submit(api, "/cancel-email-change", page, token=cancel_link.partition("token=")[2])
    assert (done.status, heading(done)) == (200, "The change is cancelled"), done.html
    await assert_revoked(api, thief)
    response = await api.post("/email-change/confirm", {"token": (await mailbox.mail(THIEF, CONFIRM)).token(
        "confirm-email-change")})
    assert_error(response, 400, "auth/link-invalid")
    assert await address(api) == EMAIL


@pytest.mark.gen_test(timeout=30)
async def test_the_confirmation_page_shows_a_button_and_only_its_post_confirms(api: Api, mailbox: SmtpServer) -> None:
    await api.signed_up_tokens(fresh=True)
    await change(api, await login_tokens(api, fresh=True))
    link = local((await mailbox.mail(NEW, CONFIRM)).link("confirm-email-change"))
    page = await open_page(api, link)
    assert (page.status, heading(page)) == (200, "Confirm the new email address")
    assert NEW in page.html and EMAIL in page.html
    assert await address(api) == EMAIL  # mail scanners that follow the link confirm nothing
    done = await submit(api, "/confirm-email-change", page, token=link.partition("token=")[2])
    assert done.status == 200 and "Log in with the new address" in done.html, done.html
    assert await address(api, NEW) == NEW
    again = await open_page(api, link)
    assert (again.status, heading(again)) == (410, "This link has already been used")


@pytest.mark.gen_test(timeout=30)
async def test_a_taken_address_gets_the_same_answer_and_its_owner_a_notice_instead_of_a_link(
        api: Api, mailbox: SmtpServer, services: Any) -> None:
    assert (await api.signup(email="taken@quazi.co", name="Tara Ken")).status == 200
    await api.signed_up_tokens()
    # The taken address, one that looks just like it (with a Cyrillic a, U+0430), and a free one: the same answer.
    answers = []
    for email in ("taken@quazi.co", "t\u0430ken@quazi.co", "free@quazi.co"):
        answers.append(await api.patch("/user", {"email": email}, token=(await login_tokens(api))["access_token"]))
        await settle(services.mail.outbox)  # each mail before the next request replaces this one
    assert {(answer.status, answer.body) for answer in answers} == {(200, answers[0].body)}
    taken = await mailbox.mail("taken@quazi.co", TAKEN, count=2)
    assert "/confirm-email-change" not in taken.text and "Tara Ken" in taken.text and "Omar" not in taken.text
    await mailbox.mail("free@quazi.co", CONFIRM)
    await settle(services.mail.outbox)
    assert mailbox.matching("taken@quazi.co", CONFIRM) == [] and mailbox.matching("t\u0430ken@quazi.co", CONFIRM) == []
    assert len(mailbox.matching(EMAIL, NOTICE)) == 3  # the requester's own inbox looks the same each time


@pytest.mark.gen_test(timeout=30)
async def test_a_newer_request_replaces_the_older_and_its_links(api: Api, mailbox: SmtpServer) -> None:
    await api.signed_up_tokens(fresh=True)
    await change(api, await login_tokens(api, fresh=True), "first@quazi.co")
    older = await mailbox.mail("first@quazi.co", CONFIRM)
    await change(api, await login_tokens(api, fresh=True), "second@quazi.co")
    newer = await mailbox.mail("second@quazi.co", CONFIRM)
    response = await api.post("/email-change/confirm", {"token": older.token("confirm-email-change")})
    assert_error(response, 400, "auth/link-invalid")
    assert await confirm(api, newer) == "auth/email-change-completed"
    assert await address(api, "second@quazi.co") == "second@quazi.co"


@pytest.mark.gen_test(timeout=30)
async def test_the_signed_in_user_sees_and_withdraws_the_pending_change(api: Api, mailbox: SmtpServer) -> None:
    await api.signed_up_tokens()
    tokens = await login_tokens(api)
    assert (await api.get("/user/email-change", token=tokens["access_token"])).json == {
        "email_change": None, "status": "success"}
    assert_error(await api.request("DELETE", "/user/email-change", token=tokens["access_token"]), 404,
                 "auth/email-change-not-found")
    await change(api, await login_tokens(api))
    link = await mailbox.mail(NEW, CONFIRM)
    withdrawn = await api.request("DELETE", "/user/email-change", token=tokens["access_token"])
    assert (withdrawn.status, withdrawn.json["code"]) == (200, "auth/email-change-cancelled")
    assert (await api.get("/user", token=tokens["access_token"])).status == 200  # the app's own session stays
    assert_error(await api.post("/email-change/confirm", {"token": link.token("confirm-email-change")}), 400,
                 "auth/link-invalid")
    # Asking for the address the account has drops a pending change too.
    await change(api, await login_tokens(api), "other@quazi.co")
    await change(api, await login_tokens(api), EMAIL)
    assert (await api.get("/user/email-change", token=tokens["access_token"])).json["email_change"] is None


@pytest.mark.gen_test(timeout=30)
async def test_an_expired_change_cannot_complete(api: Api, mailbox: SmtpServer, services: Any) -> None:
    await api.signed_up_tokens(fresh=True)
    await change(api, await login_tokens(api, fresh=True))
    token = (await mailbox.mail(NEW, CONFIRM)).token("confirm-email-change")
    await services.redis.hset(ActionTokenStore.key(token.partition(".")[0], "email-new"), "expires_at",
                              int(time.time()) - 1)
    assert_error(await api.post("/email-change/confirm", {"token": token}), 410, "auth/link-expired")
    assert await address(api) == EMAIL


@pytest.mark.gen_test(timeout=30)
async def test_a_reset_of_the_current_address_drops_the_pending_change(api: Api, mailbox: SmtpServer) -> None:
    """The owner recovers the account: a change a thief asked for can no longer complete."""
    await api.signed_up_tokens()
    await change(api, await login_tokens(api, fresh=True), THIEF)
    thief_link = await mailbox.mail(THIEF, CONFIRM)
    assert (await api.post("/password/forgot", {"email": EMAIL})).status == 200
    reset = (await mailbox.mail(EMAIL, "Reset")).token("reset-password")
    assert (await api.post("/password/reset", {"token": reset, "password": "A brand new passphrase 77"})).status == 200
    assert THIEF in (await mailbox.mail(EMAIL, "password was changed")).text  # the mail says what was dropped
    response = await api.post("/email-change/confirm", {"token": thief_link.token("confirm-email-change")})
    assert_error(response, 400, "auth/link-invalid")
    login = await api.login(password="A brand new passphrase 77")
    assert (login.status, login.json["email"]) == (200, EMAIL)
