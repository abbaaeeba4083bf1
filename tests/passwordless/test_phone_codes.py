"""Phone codes through the API, texted through a fake Twilio (and a signed webhook) on loopback: sign-in by SMS with
E.164 numbers, the durable outbox's retries, and the account's verified, unique phone number."""

from __future__ import annotations

from typing import Any

import pytest
from support.api import Api, assert_error, login_tokens, token_claims
from support.mail import SmtpServer, mail_settings
from support.mfa import enrol_totp
from support.sms import SmsReceiver, twilio_settings

from services.wiring import Services

NUMBER = "+447400123456"


@pytest.fixture
def settings(fake_twilio: SmsReceiver, mailbox: SmtpServer, request: pytest.FixtureRequest) -> dict[str, Any]:
    return {**mail_settings(mailbox), **twilio_settings(fake_twilio), **dict(getattr(request, "param", {}))}


async def sign_in_by_text(api: Api, fake: SmsReceiver, number: str = NUMBER, typed: str | None = None,
                          count: int = 1) -> dict[str, Any]:
    assert (await api.post("/otp", {"phone": typed or number})).json["code"] == "auth/otp-sent"
    text = await fake.text(number, count=count)
    answer = await api.post("/otp/verify", {"phone": typed or number, "code": text.code})
    assert answer.status == 200, answer.body
    return answer.json


@pytest.mark.gen_test
async def test_a_texted_code_signs_in_and_makes_the_account_with_its_number(api: Api, services: Services,
                                                                          fake_twilio: SmsReceiver) -> None:
    answer = await sign_in_by_text(api, fake_twilio, typed="+44 7400 123456")
    [text] = fake_twilio.texts
    assert text.sender == {"From": "+15005550006"}
    assert text.body.endswith(f"@localhost #{text.code}")  # WebOTP: the code is offered on our origin only
    assert token_claims(answer["tokens"]["access_token"])["amr"] == ["otp"]
    user = (await api.get("/user", token=answer["tokens"]["access_token"])).json
    assert user["phone"] == NUMBER and user["email"].endswith("@users.invalid")
    again = await sign_in_by_text(api, fake_twilio, count=2)
    assert again["uid"] == answer["uid"]


@pytest.mark.gen_test
async def test_seed_users_see_no_phone_field(api: Api) -> None:
    tokens = await api.signed_up_tokens()
    assert "phone" not in (await api.get("/user", token=tokens["access_token"])).json


@pytest.mark.gen_test
async def test_invalid_numbers_are_refused(api: Api) -> None:
    for number in ("12345", "+999", "not a number", "+44 7400", "+" + "1" * 80):
        assert_error(await api.post("/otp", {"phone": number}), 400, "auth/invalid-phone")
    assert_error(await api.post("/otp/verify", {"phone": "12", "code": "123456"}), 400, "auth/invalid-phone")


@pytest.mark.gen_test
async def test_with_create_user_false_an_unknown_number_gets_no_text(api: Api, services: Services,
                                                                    fake_twilio: SmsReceiver) -> None:
    assert (await api.post("/otp", {"phone": NUMBER, "create_user": False})).status == 200
    await services.passwordless.worker.run_once()
    assert fake_twilio.texts == []


@pytest.mark.gen_test
async def test_a_failing_provider_is_retried_by_the_outbox(api: Api, services: Services,
                                                          fake_twilio: SmsReceiver) -> None:
    fake_twilio.failures = 2
    await sign_in_by_text(api, fake_twilio)
    assert len(fake_twilio.refused) == 2 and len(fake_twilio.texts) == 1


@pytest.mark.gen_test
async def test_a_number_the_provider_refuses_goes_to_the_dead_letters(api: Api, services: Services,
                                                                     fake_twilio: SmsReceiver) -> None:
    fake_twilio.status = 400
    assert (await api.post("/otp", {"phone": NUMBER})).status == 200
    for _ in range(200):
        if await services.passwordless.outbox.dead_letters():
            break
        await services.passwordless.worker.run_once()
    [dead] = await services.passwordless.outbox.dead_letters()
    assert dead["attempts"] == 1 and "21211" in dead["error"]
    assert NUMBER not in repr(dead["error"])


@pytest.mark.gen_test
async def test_the_phone_number_of_an_account_is_set_only_after_its_code(api: Api, services: Services,
                                                                        fake_twilio: SmsReceiver,
                                                                        mailbox: SmtpServer) -> None:
    assert (await api.signup()).status == 200
    user = await services.users.find_by_email("omar@quazi.co")
    await services.users.update(user.uid, {"email_verified": True})
    stale = await login_tokens(api)
    assert_error(await api.patch("/user", {"phone": NUMBER}, token=stale["access_token"]), 401,
                 "auth/fresh-token-required")
    access = (await login_tokens(api, fresh=True))["access_token"]
    changed = await api.patch("/user", {"phone": NUMBER}, token=access)
    assert changed.json["code"] == "auth/phone-code-sent", changed.body
    assert "phone" not in (await api.get("/user", token=access)).json
    text = await fake_twilio.text(NUMBER)
    assert_error(await api.post("/user/phone/verify", {"code": "000000" if text.code != "000000" else "111111"},
                                token=access), 401, "auth/otp-invalid")
    verified = await api.post("/user/phone/verify", {"code": text.code}, token=access)
    assert verified.json["code"] == "auth/phone-verified", verified.body
    assert (await api.get("/user", token=access)).json["phone"] == NUMBER
    assert (await api.get("/user", token=stale["access_token"])).status == 200  # no session ended
    notice = await mailbox.mail("omar@quazi.co", "phone number")
    assert NUMBER not in notice.text and NUMBER[-2:] in notice.text
    # The number now signs in to this account.
    assert (await sign_in_by_text(api, fake_twilio, count=2))["uid"] == user.uid


@pytest.mark.gen_test
async def test_a_number_another_account_has_gets_a_notice_not_a_code(api: Api, services: Services,
                                                                     fake_twilio: SmsReceiver) -> None:
    await sign_in_by_text(api, fake_twilio)  # the number's own account
    assert (await api.signup()).status == 200
    access = (await login_tokens(api, fresh=True))["access_token"]
    assert (await api.patch("/user", {"phone": NUMBER}, token=access)).json["code"] == "auth/phone-code-sent"
    text = await fake_twilio.text(NUMBER, count=2)
    assert "another" in text.body and text.sender
    assert_error(await api.post("/user/phone/verify", {"code": "123456"}, token=access), 401, "auth/otp-invalid")


@pytest.mark.gen_test
async def test_the_phone_number_is_removed_but_never_the_last_way_in(api: Api, services: Services,
                                                                      fake_twilio: SmsReceiver) -> None:
    only_phone = await sign_in_by_text(api, fake_twilio)
    fresh = only_phone["tokens"]["access_token"]  # a code login is fresh only when asked: this one is not
    assert_error(await api.request("DELETE", "/user/phone", token=fresh), 401, "auth/fresh-token-required")
    assert (await api.post("/otp", {"phone": NUMBER})).status == 200
    code = (await fake_twilio.text(NUMBER, count=2)).code
    fresh = (await api.post("/otp/verify", {"phone": NUMBER, "code": code, "fresh_token": True})).json
    assert_error(await api.request("DELETE", "/user/phone", token=fresh["tokens"]["access_token"]), 409,
                 "auth/last-sign-in-method")
    await services.users.update(fresh["uid"], {"password_hash": "x"})
    removed = await api.request("DELETE", "/user/phone", token=fresh["tokens"]["access_token"])
    assert removed.json["code"] == "auth/phone-removed"
    assert "phone" not in (await api.get("/user", token=fresh["tokens"]["access_token"])).json


@pytest.mark.gen_test(timeout=30)
@pytest.mark.parametrize("settings", [{"mfa_enforcement": "aal1"}], indirect=True)
async def test_a_new_number_needs_the_second_factor_once_the_user_has_one(settings: dict[str, Any], api: Api) -> None:
    """A number is a way into the account: even where aal1 tokens reach everything (MFA_ENFORCEMENT: aal1), a
    fresh aal1 token of a user with a factor cannot set one."""
    tokens = await api.signed_up_tokens(fresh=True)
    await enrol_totp(api, tokens["access_token"])
    aal1 = (await api.login(fresh=True)).json["tokens"]["access_token"]
    assert_error(await api.patch("/user", {"phone": NUMBER}, token=aal1), 403, "auth/mfa-required")
