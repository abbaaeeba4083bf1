"""Breached passwords refused at sign-up, password change and reset, through a fake Pwned Passwords range API on
loopback: k-anonymity (5 hex characters, nothing else), padding asked for, answers cached, and an unreachable or slow
service accepting the password with a log line (or a 503, when told to fail closed)."""

from __future__ import annotations

import hashlib
import re
import time
from typing import Any

import pytest
from support.api import PASSWORD, Api, assert_error, login_tokens, with_settings
from support.mail import SmtpServer, mail_settings
from support.pwned import FakePwnedPasswords, breach_settings

BREACHED = "Correct horse battery staple 1"


@pytest.fixture
def settings(fake_pwned: FakePwnedPasswords, mailbox: SmtpServer, request: pytest.FixtureRequest) -> dict[str, Any]:
    fake_pwned.breach(BREACHED)
    return {**mail_settings(mailbox), **breach_settings(fake_pwned), **dict(getattr(request, "param", {}))}


def signup(api: Api, password: str, email: str = "omar@quazi.co") -> Any:
    return api.post("/signup", {"name": "Omar Quazi", "email": email, "password": password})


@pytest.mark.gen_test
async def test_a_breached_password_is_refused_at_sign_up(api: Api, fake_pwned: FakePwnedPasswords) -> None:
    assert_error(await signup(api, BREACHED), 400, "auth/password-breached")
    assert (await signup(api, PASSWORD)).status == 200


@pytest.mark.gen_test
async def test_only_five_hex_characters_leave_the_server_and_padding_is_asked_for(
        api: Api, fake_pwned: FakePwnedPasswords) -> None:
    await signup(api, BREACHED)
    await signup(api, PASSWORD)
    digests = [hashlib.sha1(p.encode()).hexdigest().upper() for p in (BREACHED, PASSWORD)]  # noqa: S324
    assert [uri for uri, _ in fake_pwned.requests] == [f"/range/{digest[:5]}" for digest in digests]
    for uri, headers in fake_pwned.requests:
        assert re.fullmatch(r"/range/[0-9A-F]{5}", uri)
        assert headers["Add-Padding"] == "true"
        sent = repr(headers)
        assert not any(digest[5:] in sent or digest in sent for digest in digests)
        assert "omar" not in sent.lower()


@pytest.mark.gen_test
async def test_answers_are_cached(api: Api, fake_pwned: FakePwnedPasswords) -> None:
    assert_error(await signup(api, BREACHED), 400, "auth/password-breached")
    assert_error(await signup(api, BREACHED, email="second@quazi.co"), 400, "auth/password-breached")
    assert len(fake_pwned.requests) == 1


@pytest.mark.gen_test
async def test_the_local_list_still_refuses_common_passwords_without_asking(api: Api,
                                                                           fake_pwned: FakePwnedPasswords) -> None:
    assert_error(await signup(api, "password1234"), 400, "auth/weak-password")
    assert fake_pwned.requests == []


@pytest.mark.gen_test
async def test_a_breached_password_is_refused_at_change_and_reset(api: Api, mailbox: SmtpServer) -> None:
    assert (await signup(api, PASSWORD)).status == 200
    fresh = (await login_tokens(api, fresh=True))["access_token"]
    assert_error(await api.patch("/user", {"password": BREACHED}, token=fresh), 400, "auth/password-breached")
    assert (await api.post("/password/forgot", {"email": "omar@quazi.co"})).status == 200
    token = (await mailbox.mail("omar@quazi.co", "Reset")).token("reset-password")
    assert_error(await api.post("/password/reset", {"token": token, "password": BREACHED}), 400,
                 "auth/password-breached")
    assert (await api.post("/password/reset", {"token": token, "password": PASSWORD + "!"})).status == 200


@pytest.mark.gen_test
async def test_an_unreachable_service_accepts_the_password_and_says_so(api: Api, fake_pwned: FakePwnedPasswords,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    fake_pwned.down = True
    assert (await signup(api, BREACHED)).status == 200
    assert any("breach check" in record.getMessage() for record in caplog.records)


@pytest.mark.gen_test
async def test_a_slow_service_is_cut_off_at_the_timeout(api: Api, fake_pwned: FakePwnedPasswords) -> None:
    fake_pwned.delay = 3
    started = time.monotonic()
    assert (await signup(api, BREACHED)).status == 200
    assert time.monotonic() - started < 2.5


@pytest.mark.gen_test
@with_settings(password_breach_fail_open=False)
async def test_failing_closed_answers_503(settings: dict[str, Any], api: Api, fake_pwned: FakePwnedPasswords) -> None:
    fake_pwned.down = True
    answer = await signup(api, PASSWORD)
    assert_error(answer, 503, "auth/unavailable")
    assert "Retry-After" in answer.headers
