"""Email codes and magic links through the API, with mail caught by a local SMTP server: a code signs in (and makes
the account when allowed, never before), a link signs in, both work once, expire, are void after too many wrong
codes, and a newer one voids the older."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from support.api import PASSWORD, Api, assert_error, token_claims, with_settings
from support.mail import SmtpServer, mail_settings, settle

from services.wiring import Services

CODE = re.compile(r"^ +(\d{6})\s*$", re.MULTILINE)


@pytest.fixture
def settings(mailbox: SmtpServer, request: pytest.FixtureRequest) -> dict[str, Any]:
    return mail_settings(mailbox, **dict(getattr(request, "param", {})))


async def ask(api: Api, services: Services, **body: Any) -> None:
    response = await api.post("/otp", body)
    assert response.status == 200, response.body
    assert response.json["code"] == "auth/otp-sent"
    await settle(services.mail.outbox)


async def mailed_code(mailbox: SmtpServer, to: str, count: int = 1) -> tuple[str, str]:
    """The code and the magic link's token of the `count`-th sign-in mail to `to`."""
    mail = await mailbox.mail(to, "sign-in code", count=count)
    return CODE.search(mail.text)[1], mail.token("magic-link")  # type: ignore[index]


@pytest.mark.gen_test
async def test_a_mailed_code_signs_in_a_new_address_and_makes_its_account_only_then(
        api: Api, services: Services, mailbox: SmtpServer) -> None:
    await ask(api, services, email="New@Quazi.co")
    assert await services.users.find_by_email("new@quazi.co") is None  # never before the code is used
    code, _ = await mailed_code(mailbox, "new@quazi.co")
    answer = await api.post("/otp/verify", {"email": "new@quazi.co", "code": code})
    assert answer.status == 200, answer.body
    body = answer.json
    assert set(body) == {"created_at", "email", "email_verified", "name", "status", "tokens", "uid", "updated_at"}
    assert body["email"] == "new@quazi.co" and body["email_verified"] is True
    claims = token_claims(body["tokens"]["access_token"])
    assert claims["amr"] == ["otp"] and claims["aal"] == "aal1" and "is_anonymous" not in claims
    assert (await api.get("/user", token=body["tokens"]["access_token"])).json["email_verified"] is True
    # The account has no password: a password login fails like a wrong password.
    assert_error(await api.login(email="new@quazi.co", password=PASSWORD), 401, "auth/invalid-credentials")


@pytest.mark.gen_test
async def test_a_code_works_once(api: Api, services: Services, mailbox: SmtpServer) -> None:
    await ask(api, services, email="omar@quazi.co")
    code, _ = await mailed_code(mailbox, "omar@quazi.co")
    assert (await api.post("/otp/verify", {"email": "omar@quazi.co", "code": code})).status == 200
    assert_error(await api.post("/otp/verify", {"email": "omar@quazi.co", "code": code}), 401, "auth/otp-invalid")


@pytest.mark.gen_test
async def test_fresh_token_is_honoured(api: Api, services: Services, mailbox: SmtpServer) -> None:
    await ask(api, services, email="omar@quazi.co")
    code, _ = await mailed_code(mailbox, "omar@quazi.co")
    answer = await api.post("/otp/verify", {"email": "omar@quazi.co", "code": code, "fresh_token": True})
    assert token_claims(answer.json["tokens"]["access_token"])["data"]["fresh"] is True


@pytest.mark.gen_test
async def test_with_create_user_false_an_unknown_address_gets_no_mail_and_no_account(
        api: Api, services: Services, mailbox: SmtpServer) -> None:
    await ask(api, services, email="nobody@quazi.co", create_user=False)
    assert (await api.signup()).status == 200
    await ask(api, services, email="omar@quazi.co", create_user=False)
    await mailed_code(mailbox, "omar@quazi.co")  # a known address gets its code
    assert mailbox.matching("nobody@quazi.co", "sign-in") == []
    assert await services.users.find_by_email("nobody@quazi.co") is None


@pytest.mark.gen_test
@with_settings(otp_create_user=False)
async def test_otp_create_user_is_the_default_of_create_user(settings: dict[str, Any], api: Api,
                                                              services: Services, mailbox: SmtpServer) -> None:
    await ask(api, services, email="nobody@quazi.co")
    await ask(api, services, email="asked@quazi.co", create_user=True)
    await mailed_code(mailbox, "asked@quazi.co")
    assert mailbox.matching("nobody@quazi.co", "sign-in") == []


@pytest.mark.gen_test
async def test_a_newer_code_voids_the_older(api: Api, services: Services, mailbox: SmtpServer) -> None:
    await ask(api, services, email="omar@quazi.co")
    first, first_link = await mailed_code(mailbox, "omar@quazi.co")
    await ask(api, services, email="omar@quazi.co")
    second, _ = await mailed_code(mailbox, "omar@quazi.co", count=2)
    if first != second:  # one in a million they are the same code: it is the record that counts
        assert_error(await api.post("/otp/verify", {"email": "omar@quazi.co", "code": first}), 401,
                     "auth/otp-invalid")
    assert_error(await api.post("/magic-link/verify", {"token": first_link}), 400, "auth/link-invalid")
    assert (await api.post("/otp/verify", {"email": "omar@quazi.co", "code": second})).status == 200


@pytest.mark.gen_test
@with_settings(otp_max_attempts=3)
async def test_too_many_wrong_codes_void_the_code(settings: dict[str, Any], api: Api, services: Services,
                                                  mailbox: SmtpServer) -> None:
    await ask(api, services, email="omar@quazi.co")
    code, _ = await mailed_code(mailbox, "omar@quazi.co")
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(3):
        assert_error(await api.post("/otp/verify", {"email": "omar@quazi.co", "code": wrong}), 401,
                     "auth/otp-invalid")
    assert_error(await api.post("/otp/verify", {"email": "omar@quazi.co", "code": code}), 401, "auth/otp-invalid")


@pytest.mark.gen_test
@with_settings(otp_lifetime=60)
async def test_a_code_expires(settings: dict[str, Any], api: Api, services: Services, mailbox: SmtpServer,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    await ask(api, services, email="omar@quazi.co")
    code, token = await mailed_code(mailbox, "omar@quazi.co")
    later = time.time() + 61
    monkeypatch.setattr(time, "time", lambda: later)
    assert_error(await api.post("/otp/verify", {"email": "omar@quazi.co", "code": code}), 401, "auth/otp-invalid")
    assert_error(await api.post("/magic-link/verify", {"token": token}), 410, "auth/link-expired")


@pytest.mark.gen_test
async def test_the_magic_link_signs_in_once(api: Api, services: Services, mailbox: SmtpServer) -> None:
    await ask(api, services, email="omar@quazi.co")
    code, token = await mailed_code(mailbox, "omar@quazi.co")
    answer = await api.post("/magic-link/verify", {"token": token})
    assert answer.status == 200, answer.body
    assert answer.json["email"] == "omar@quazi.co"
    assert_error(await api.post("/magic-link/verify", {"token": token}), 410, "auth/link-used")
    # The code went with the link: one sign-in.
    assert_error(await api.post("/otp/verify", {"email": "omar@quazi.co", "code": code}), 401, "auth/otp-invalid")


@pytest.mark.gen_test
async def test_codes_and_links_are_stored_only_hashed(api: Api, services: Services, mailbox: SmtpServer) -> None:
    await ask(api, services, email="omar@quazi.co")
    code, token = await mailed_code(mailbox, "omar@quazi.co")
    secret = token.partition(".")[2]
    stored = [await services.redis.hgetall(key) async for key in services.redis.scan_iter("auth:{otp:*")]
    assert len(stored) == 1
    text = repr(stored)
    assert code not in text and secret not in text


@pytest.mark.gen_test
async def test_a_verified_account_signs_in_with_a_code_and_keeps_its_password(
        api: Api, services: Services, mailbox: SmtpServer) -> None:
    assert (await api.signup()).status == 200
    user = await services.users.find_by_email("omar@quazi.co")
    await services.users.update(user.uid, {"email_verified": True})
    await ask(api, services, email="omar@quazi.co")
    code, _ = await mailed_code(mailbox, "omar@quazi.co")
    answer = await api.post("/otp/verify", {"email": "omar@quazi.co", "code": code})
    assert answer.json["uid"] == user.uid
    assert (await api.login()).status == 200


@pytest.mark.gen_test
async def test_a_code_proves_an_unverified_address_and_ends_what_a_stranger_attached(
        api: Api, services: Services, mailbox: SmtpServer) -> None:
    """Pre-hijacking: someone signed up with the owner's address and a password of theirs; the owner's code proves
    the address, ends the stranger's sessions and removes the stranger's password."""
    stranger = await api.signed_up_tokens()
    await ask(api, services, email="omar@quazi.co")
    code, _ = await mailed_code(mailbox, "omar@quazi.co")
    answer = await api.post("/otp/verify", {"email": "omar@quazi.co", "code": code})
    assert answer.status == 200 and answer.json["email_verified"] is True
    assert_error(await api.get("/user", token=stranger["access_token"]), 401, "auth/token-revoked")
    assert_error(await api.login(), 401, "auth/invalid-credentials")
    notice = await mailbox.mail("omar@quazi.co", "confirmed")
    assert "password someone set" in notice.text


@pytest.mark.gen_test
async def test_a_disabled_account_gets_no_code(api: Api, services: Services, mailbox: SmtpServer) -> None:
    assert (await api.signup()).status == 200
    user = await services.users.find_by_email("omar@quazi.co")
    await services.accounts.lifecycle.disable(user)
    await ask(api, services, email="omar@quazi.co")
    assert mailbox.matching("omar@quazi.co", "sign-in") == []


@pytest.mark.gen_test
async def test_bad_requests_are_clear_errors(api: Api) -> None:
    assert_error(await api.post("/otp", {}), 400, "auth/invalid-field")
    assert_error(await api.post("/otp", {"email": "a@b.co", "phone": "+447400123456"}), 400, "auth/invalid-field")
    assert_error(await api.post("/otp", {"email": "not an address"}), 400, "auth/invalid-email")
    assert_error(await api.post("/otp", {"email": {"$ne": ""}}), 400, "auth/invalid-field")
    assert_error(await api.post("/otp", {"email": "a@b.co", "redirect_to": "https://evil.example/"}), 400,
                 "auth/invalid-redirect")
    assert_error(await api.post("/otp/verify", {"email": "a@b.co"}), 400, "auth/missing-field")
    assert_error(await api.post("/otp/verify", {"email": "a@b.co", "code": "12"}), 401, "auth/otp-invalid")
    assert_error(await api.post("/magic-link/verify", {"token": "made-up"}), 400, "auth/link-invalid")


@pytest.mark.gen_test
@with_settings(rate_limit_mail_address="2/1h", rate_limit_otp="3/1h")
async def test_sending_is_limited_per_address_and_per_client_network(settings: dict[str, Any], api: Api) -> None:
    for _ in range(2):
        assert (await api.post("/otp", {"email": "omar@quazi.co"})).status == 200
    assert_error(await api.post("/otp", {"email": "omar@quazi.co"}), 429, "auth/too-many-requests")  # the address
    assert (await api.post("/otp", {"email": "other@quazi.co"})).status == 429  # the network's 3 are used up too
    assert int((await api.post("/otp", {"email": "third@quazi.co"})).headers["Retry-After"]) > 0


@pytest.mark.gen_test
@with_settings(rate_limit_otp_verify="2/15m")
async def test_checking_codes_is_limited_per_address(settings: dict[str, Any], api: Api) -> None:
    for _ in range(2):
        assert_error(await api.post("/otp/verify", {"email": "omar@quazi.co", "code": "123456"}), 401,
                     "auth/otp-invalid")
    assert_error(await api.post("/otp/verify", {"email": "omar@quazi.co", "code": "123456"}), 429,
                 "auth/too-many-requests")
    assert_error(await api.post("/otp/verify", {"email": "other@quazi.co", "code": "123456"}), 401,
                 "auth/otp-invalid")
