"""Email verification over the JSON API, with the mail caught by a local SMTP server: sign-up mails a
link, resending answers alike for every address, and EMAIL_VERIFICATION_REQUIRED closes login to unverified
accounts and sign-up to enumeration. (An address change: tests/accounts/test_email_change.py.)
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from support.api import PASSWORD, Api, with_settings
from support.mail import SmtpServer, mail_settings, settle

from services.tokens import ActionTokenStore


@pytest.fixture
def settings(mailbox: SmtpServer, request: pytest.FixtureRequest) -> dict[str, Any]:
    return mail_settings(mailbox, **getattr(request, "param", {}))


async def verification_token(mailbox: SmtpServer, email: str = "omar@quazi.co", count: int = 1) -> str:
    return (await mailbox.mail(email, "Confirm", count=count)).token("verify-email")


async def verified(api: Api, email: str = "omar@quazi.co") -> bool:
    login = await api.login(email=email)
    assert login.status == 200, login.body
    return (await api.get("/user", token=login.json["tokens"]["access_token"])).json["email_verified"]


@pytest.mark.gen_test
async def test_sign_up_mails_a_link_that_verifies_the_address_once(api: Api, mailbox: SmtpServer) -> None:
    assert (await api.signup()).status == 200
    mail = await mailbox.mail("omar@quazi.co", "Confirm")
    assert mail.subject == "Confirm your email address for Python JWT Auth"
    assert mail.link("verify-email").startswith("http://localhost:8080/verify-email?token=")
    assert "valid for 24 hours" in mail.text
    assert not await verified(api)

    response = await api.post("/verify", {"token": mail.token("verify-email")})
    assert (response.status, response.json["code"]) == (200, "auth/email-verified")
    assert await verified(api)
    again = await api.post("/verify", {"token": mail.token("verify-email")})
    assert (again.status, again.json["code"]) == (410, "auth/link-used")


@pytest.mark.gen_test
async def test_resending_by_address_answers_alike_and_mails_only_who_needs_it(api: Api, mailbox: SmtpServer,
                                                                             services: Any) -> None:
    assert (await api.signup()).status == 200
    assert (await api.signup(email="done@quazi.co")).status == 200
    await api.post("/verify", {"token": await verification_token(mailbox, "done@quazi.co")})
    answers = [await api.post("/verify/resend", {"email": email})
               for email in ("omar@quazi.co", "nobody@quazi.co", "done@quazi.co")]
    assert {(a.status, a.body) for a in answers} == {(200, answers[0].body)}
    assert answers[0].json["code"] == "auth/verification-sent"
    await settle(services.mail.outbox)
    assert len(mailbox.matching("omar@quazi.co", "Confirm")) == 2
    assert mailbox.matching("nobody@quazi.co", "Confirm") == []
    assert len(mailbox.matching("done@quazi.co", "Confirm")) == 1


@pytest.mark.gen_test
async def test_resending_with_just_an_access_token(api: Api, mailbox: SmtpServer) -> None:
    tokens = await api.signed_up_tokens()
    response = await api.post("/verify/resend", token=tokens["access_token"])
    assert (response.status, response.json["code"]) == (200, "auth/verification-sent")
    token = await verification_token(mailbox, count=2)
    assert (await api.post("/verify", {"token": token})).status == 200
    # The proof ended the sessions started before it (issue 12, item 2: tests/accounts/test_pre_hijacking.py).
    assert (await api.post("/verify/resend", token=tokens["access_token"])).status == 401
    tokens = (await api.login()).json["tokens"]
    done = await api.post("/verify/resend", token=tokens["access_token"])
    assert (done.status, done.json["code"]) == (200, "auth/email-already-verified")
    bad = await api.post("/verify/resend", {"email": "omar@quazi.co"}, token="not.a.token")
    assert (bad.status, bad.json["code"]) == (401, "auth/token-invalid")
    nothing = await api.post("/verify/resend")
    assert (nothing.status, nothing.json["code"]) == (400, "auth/missing-field")


@pytest.mark.gen_test
async def test_a_newer_verification_link_replaces_the_older(api: Api, mailbox: SmtpServer) -> None:
    assert (await api.signup()).status == 200
    older = await verification_token(mailbox)
    await api.post("/verify/resend", {"email": "omar@quazi.co"})
    newer = await verification_token(mailbox, count=2)
    response = await api.post("/verify", {"token": older})
    assert (response.status, response.json["code"]) == (400, "auth/link-invalid")
    assert (await api.post("/verify", {"token": newer})).status == 200


@pytest.mark.gen_test
async def test_an_expired_verification_link_says_so(api: Api, mailbox: SmtpServer, services: Any) -> None:
    assert (await api.signup()).status == 200
    token = await verification_token(mailbox)
    await services.redis.hset(ActionTokenStore.key(token.partition(".")[0], "verify"), "expires_at",
                              int(time.time()) - 1)
    response = await api.post("/verify", {"token": token})
    assert (response.status, response.json["code"]) == (410, "auth/link-expired")


@with_settings(email_verification_required=True)
@pytest.mark.gen_test
async def test_with_verification_required_an_unverified_account_cannot_log_in(
        api: Api, mailbox: SmtpServer, settings: dict[str, Any]) -> None:
    signup = await api.signup()
    assert signup.json["code"] == "auth/user-registered" and "confirm your email" in signup.json["message"]
    refused = await api.login()
    assert (refused.status, refused.json["code"]) == (403, "auth/email-not-verified")
    wrong = await api.login(password="not the password at all")
    assert (wrong.status, wrong.json["code"]) == (401, "auth/invalid-credentials")  # the 403 needs the password
    assert (await api.post("/verify", {"token": await verification_token(mailbox)})).status == 200
    assert (await api.login()).status == 200


@with_settings(email_verification_required=True)
@pytest.mark.gen_test
async def test_with_verification_required_sign_up_tells_nobody_who_has_an_account(
        api: Api, mailbox: SmtpServer, services: Any, settings: dict[str, Any]) -> None:
    first = await api.signup()
    taken = await api.signup(name="Someone Else", password="Another passphrase 55")
    fresh = await api.signup(email="fresh@quazi.co")
    assert first.status == taken.status == fresh.status == 200
    assert first.body == taken.body == fresh.body
    attempt = await mailbox.mail("omar@quazi.co", "tried to sign up")
    assert "/forgot-password" in attempt.text and "Omar Quazi" in attempt.text
    await settle(services.mail.outbox)
    assert len(mailbox.matching("omar@quazi.co", "Confirm")) == 1  # no second account, no second link
    assert await services.users.count() == 2
    assert (await api.login(password="Another passphrase 55")).status == 401  # the owner's password stands


@pytest.mark.gen_test
async def test_without_verification_required_a_taken_address_still_answers_409(api: Api) -> None:
    assert (await api.signup()).status == 200
    taken = await api.signup()
    assert (taken.status, taken.json["code"]) == (409, "auth/email-already-in-use")
    assert (await api.login(password=PASSWORD)).status == 200


@with_settings(rate_limit_mail_address="1/1h")
@pytest.mark.gen_test
async def test_a_full_address_quota_skips_mails_nobody_asked_for_by_name(api: Api, mailbox: SmtpServer,
                                                                        services: Any,
                                                                        settings: dict[str, Any]) -> None:
    tokens = await api.signed_up_tokens()  # the verification mail uses the quota up
    await mailbox.mail("omar@quazi.co", "Confirm")
    resend = await api.post("/verify/resend", token=tokens["access_token"])
    assert (resend.status, resend.json["code"]) == (429, "auth/too-many-requests")
    assert (await api.patch("/user", {"email": "new@quazi.co"}, token=tokens["access_token"])).status == 200
    await mailbox.mail("omar@quazi.co", "change of your")  # a security notice: always sent
    await mailbox.mail("new@quazi.co", "Confirm your new")  # a fresh address has its own quota
    await settle(services.mail.outbox)
    assert len(mailbox.matching("omar@quazi.co", "Confirm")) == 1
