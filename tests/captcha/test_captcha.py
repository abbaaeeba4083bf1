"""CAPTCHA exactly where configured, checked at a fake siteverify endpoint on loopback: sign-ups, codes, password
resets, and logins always or after failures; a lock asks for one instead of refusing the owner; a slow provider is a
quick 503 with Retry-After."""

from __future__ import annotations

from typing import Any

import pytest
from support.api import PASSWORD, Api, assert_error, with_settings
from support.captcha import FakeSiteVerify, captcha_settings
from support.mail import SmtpServer, mail_settings

from services.wiring import Services


@pytest.fixture
def settings(fake_siteverify: FakeSiteVerify, mailbox: SmtpServer, request: pytest.FixtureRequest) -> dict[str, Any]:
    return {**mail_settings(mailbox), **captcha_settings(fake_siteverify), "anonymous_signup": True,
            **dict(getattr(request, "param", {}))}


SIGNUP = {"name": "Omar Quazi", "email": "omar@quazi.co", "password": PASSWORD}


@pytest.mark.gen_test
async def test_sign_up_needs_a_solved_captcha_used_once(api: Api, fake_siteverify: FakeSiteVerify) -> None:
    assert_error(await api.post("/signup", SIGNUP), 400, "auth/captcha-failed")
    assert_error(await api.post("/signup", {**SIGNUP, "captcha_token": "made-up"}), 400, "auth/captcha-failed")
    token = fake_siteverify.solve()
    assert (await api.post("/signup", {**SIGNUP, "captcha_token": token})).status == 200
    assert_error(await api.post("/signup", {**SIGNUP, "email": "b@quazi.co", "captcha_token": token}), 400,
                 "auth/captcha-failed")
    check = fake_siteverify.checks[-2]
    assert check["response"] == token and check["remoteip"] == "127.0.0.1"


@pytest.mark.gen_test
@with_settings(captcha_provider="hcaptcha")
async def test_hcaptcha_is_checked_the_same_way(settings: dict[str, Any], api: Api,
                                                fake_siteverify: FakeSiteVerify) -> None:
    assert_error(await api.post("/signup", SIGNUP), 400, "auth/captcha-failed")
    token = fake_siteverify.solve()
    assert (await api.post("/signup", {**SIGNUP, "captcha_token": token})).status == 200
    assert fake_siteverify.checks[-1]["response"] == token


@pytest.mark.gen_test
async def test_codes_anonymous_sign_ups_and_resets_need_one_too(api: Api, fake_siteverify: FakeSiteVerify) -> None:
    for path, body in (("/otp", {"email": "omar@quazi.co"}), ("/signup/anonymous", {}),
                       ("/password/forgot", {"email": "omar@quazi.co"})):
        assert_error(await api.post(path, body), 400, "auth/captcha-failed")
        answer = await api.post(path, {**body, "captcha_token": fake_siteverify.solve()})
        assert answer.status == 200, (path, answer.body)


@pytest.mark.gen_test
async def test_refresh_and_other_calls_never_ask_for_one(api: Api, fake_siteverify: FakeSiteVerify) -> None:
    assert (await api.post("/signup", {**SIGNUP, "captcha_token": fake_siteverify.solve()})).status == 200
    login = await api.login()
    assert login.status == 200, login.body  # no failures yet: after-failures asks for nothing
    assert (await api.refresh(login.json["tokens"]["refresh_token"])).status == 200
    assert (await api.post("/verify/resend", {"email": "omar@quazi.co"})).status == 200


@pytest.mark.gen_test
async def test_after_failures_of_the_account_login_needs_one(api: Api, services: Services,
                                                             fake_siteverify: FakeSiteVerify) -> None:
    assert (await api.post("/signup", {**SIGNUP, "captcha_token": fake_siteverify.solve()})).status == 200
    for _ in range(3):
        assert_error(await api.login(password="wrong password!"), 401, "auth/invalid-credentials")
    assert_error(await api.login(), 400, "auth/captcha-failed")  # the right password, but the CAPTCHA is due
    solved = await api.post("/login", {"email": "omar@quazi.co", "password": PASSWORD,
                                       "captcha_token": fake_siteverify.solve()})
    assert solved.status == 200, solved.body
    # The right password cleared the account's count; this network's own count (3 failures) lasts its window.
    assert_error(await api.login(), 400, "auth/captcha-failed")


@pytest.mark.gen_test
async def test_after_failures_of_the_network_login_needs_one_for_any_account(api: Api,
                                                                            fake_siteverify: FakeSiteVerify) -> None:
    for n in range(3):
        assert_error(await api.login(email=f"guess{n}@quazi.co", password="wrong password!"), 401,
                     "auth/invalid-credentials")
    assert_error(await api.login(email="another@quazi.co", password="wrong password!"), 400, "auth/captcha-failed")


@pytest.mark.gen_test
@with_settings(captcha_login="always")
async def test_always_asks_at_every_login(settings: dict[str, Any], api: Api,
                                          fake_siteverify: FakeSiteVerify) -> None:
    assert (await api.post("/signup", {**SIGNUP, "captcha_token": fake_siteverify.solve()})).status == 200
    assert_error(await api.login(), 400, "auth/captcha-failed")
    ok = await api.post("/login", {"email": "omar@quazi.co", "password": PASSWORD,
                                   "captcha_token": fake_siteverify.solve()})
    assert ok.status == 200, ok.body


@pytest.mark.gen_test
@with_settings(rate_limit_login_failures="3/15m", captcha_login_failures=1000)
async def test_a_locked_account_asks_its_owner_for_a_captcha_instead_of_refusing(
        settings: dict[str, Any], api: Api, fake_siteverify: FakeSiteVerify) -> None:
    assert (await api.post("/signup", {**SIGNUP, "captcha_token": fake_siteverify.solve()})).status == 200
    for _ in range(3):
        await api.login(password="wrong password!")
    locked = await api.login()
    assert_error(locked, 400, "auth/captcha-failed")
    assert "solve the CAPTCHA" in locked.json["message"]
    owner = await api.post("/login", {"email": "omar@quazi.co", "password": PASSWORD,
                                      "captcha_token": fake_siteverify.solve()})
    assert owner.status == 200, owner.body
    # A guesser with a solved CAPTCHA gets one guess, counted: the next one needs another CAPTCHA.
    for _ in range(3):
        await api.login(password="wrong password!")
    guess = await api.post("/login", {"email": "omar@quazi.co", "password": "wrong password!",
                                      "captcha_token": fake_siteverify.solve()})
    assert_error(guess, 401, "auth/invalid-credentials")
    assert_error(await api.login(password="wrong password!"), 400, "auth/captcha-failed")


@pytest.mark.gen_test
@with_settings(captcha_timeout_seconds=0.3)
async def test_a_slow_provider_is_a_quick_503_with_retry_after(settings: dict[str, Any], api: Api,
                                                              fake_siteverify: FakeSiteVerify) -> None:
    fake_siteverify.delay = 2
    answer = await api.post("/signup", {**SIGNUP, "captcha_token": fake_siteverify.solve()})
    assert_error(answer, 503, "auth/unavailable")
    assert int(answer.headers["Retry-After"]) >= 1


@pytest.mark.gen_test
@with_settings(captcha_secret="not-our-secret")
async def test_a_secret_the_provider_refuses_is_our_fault_not_the_clients(settings: dict[str, Any], api: Api,
                                                                        fake_siteverify: FakeSiteVerify,
                                                                        caplog: pytest.LogCaptureFixture) -> None:
    assert_error(await api.post("/signup", {**SIGNUP, "captcha_token": fake_siteverify.solve()}), 503,
                 "auth/unavailable")
    assert any("CAPTCHA_SECRET" in record.getMessage() for record in caplog.records)
