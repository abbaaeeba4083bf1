"""The synchronous auth hooks (issue 17), against a real receiver on loopback that verifies every signature with
the `standardwebhooks` library: before_signup for every way an account is made, custom_access_token with our
claims protected, each hook's failure policy, and send_email in place of the mailer, with the outbox's retries."""

from __future__ import annotations

import time
from typing import Any

import pytest
from support.admin import admin_key, bearer
from support.api import PASSWORD, Api, assert_error, login_tokens, token_claims
from support.providers import FakeProviders, social_settings
from support.webhooks import OTHER_SECRET, Receiver, hook

from services.config import HookConfig
from services.hooks import AuthHooks, SignedPoster
from services.users import User
from services.wiring import Services


@pytest.fixture
def settings(receiver: Receiver, fake_providers: FakeProviders, base_url: str) -> dict[str, Any]:
    return {**social_settings(fake_providers, base_url),
            "hooks": {"before_signup": hook(receiver, "signup"), "custom_access_token": hook(receiver, "claims"),
                      "send_email": hook(receiver, "mail")},
            "mail_retry_base_seconds": 0.05, "mail_retry_max_seconds": 0.2}


@pytest.mark.gen_test(timeout=30)
async def test_every_way_of_signing_up_asks_before_signup_which_sees_no_password(
        services: Services, api: Api, receiver: Receiver, fake_providers: FakeProviders) -> None:
    assert (await api.signup(email="pw@example.com", name="With Password")).status == 200
    assert (await api.post("/login/google", {"id_token": fake_providers.id_token(email="social@example.com")})
            ).status == 200
    key = await admin_key(services)
    made = await api.post("/admin/users", {"email": "made@example.com", "name": "Made"}, **bearer(key))
    assert made.status == 201
    calls = [item.payload for item in receiver.of("signup")]
    assert [(call["type"], call["data"]["user"]["method"], call["data"]["user"]["email"]) for call in calls] == [
        ("before_signup", "password", "pw@example.com"), ("before_signup", "social", "social@example.com"),
        ("before_signup", "admin", "made@example.com")]
    assert calls[1]["data"]["user"]["provider"] == "google"
    assert PASSWORD not in str(calls) and all(
        set(call["data"]["user"]) <= {"email", "name", "method", "email_verified", "provider", "app_metadata"}
        for call in calls)
    assert receiver.bad_signatures == 0 and len({item.id for item in receiver.of("signup")}) == 3


@pytest.mark.gen_test(timeout=30)
async def test_a_rejection_answers_403_with_the_hooks_message_and_makes_no_account(
        services: Services, api: Api, receiver: Receiver, fake_providers: FakeProviders) -> None:
    receiver.behave("signup", answer={"decision": "reject", "message": "Only staff may sign up."})
    refused = await api.signup(email="stranger@example.com")
    assert_error(refused, 403, "auth/signup-rejected")
    assert refused.json["message"] == "Only staff may sign up."
    assert await services.users.find_by_email("stranger@example.com") is None
    receiver.behave("signup", answer={"error": {"http_code": 403, "message": "No."}})  # Supabase's shape
    assert_error(await api.post("/login/google", {"id_token": fake_providers.id_token()}), 403,
                 "auth/signup-rejected")
    key = await admin_key(services)
    assert_error(await api.post("/admin/users", {"email": "made@example.com", "name": "Made"}, **bearer(key)), 403,
                 "auth/signup-rejected")
    assert await services.users.count() == 0


@pytest.mark.gen_test(timeout=30)
async def test_a_failing_before_signup_hook_follows_its_policy(services: Services, api: Api,
                                                              receiver: Receiver) -> None:
    receiver.behave("signup", status=500)
    assert_error(await api.signup(email="a@example.com"), 503, "auth/hook-failed")
    receiver.behave("signup", answer=b"not json")
    refused = await api.signup(email="a@example.com")
    assert_error(refused, 503, "auth/hook-failed")
    assert refused.headers["Retry-After"]
    assert await services.users.count() == 0


@pytest.mark.gen_test(timeout=30)
async def test_custom_claims_are_merged_but_never_over_ours(services: Services, api: Api,
                                                           receiver: Receiver) -> None:
    receiver.behave("claims", answer={"claims": {"tenant": "acme", "roles": ["reader"], "sub": "someone-else",
                                                 "exp": 9_999_999_999, "aal": "aal2", "data": {"type": "x"},
                                                 "app_metadata": {"roles": ["admin"]}}})
    await api.signup()
    tokens = await login_tokens(api)
    claims = token_claims(tokens["access_token"])
    assert claims["tenant"] == "acme" and claims["roles"] == ["reader"]
    assert claims["sub"] != "someone-else" and claims["exp"] < time.time() + 3600 and claims["aal"] == "aal1"
    assert claims["data"]["type"] == "access_token" and "app_metadata" not in claims
    assert (await api.get("/user", token=tokens["access_token"])).status == 200
    seen = receiver.of("claims")[-1].payload["data"]
    assert seen["claims"]["sub"] == seen["user_id"] and seen["claims"]["data"]["type"] == "access_token"
    refreshed = await api.refreshed(tokens["refresh_token"])  # every access token, refreshed ones too
    assert token_claims(refreshed["access_token"])["tenant"] == "acme"
    assert "tenant" not in token_claims(refreshed["refresh_token"])


@pytest.mark.gen_test(timeout=30)
async def test_an_answer_over_4_kb_or_not_json_follows_the_policy(services: Services, api: Api,
                                                                 receiver: Receiver) -> None:
    await api.signup()
    receiver.behave("claims", answer={"claims": {"blob": "x" * 5000}})
    assert_error(await api.login(), 503, "auth/hook-failed")
    receiver.behave("claims", answer=b"<html>")
    assert_error(await api.login(), 503, "auth/hook-failed")
    receiver.behave("claims", answer={"claims": ["not", "an", "object"]})
    assert_error(await api.login(), 503, "auth/hook-failed")


@pytest.mark.gen_test(timeout=30)
async def test_mail_goes_to_the_send_email_hook_and_is_retried_when_it_fails(services: Services, api: Api,
                                                                           receiver: Receiver) -> None:
    receiver.behave("mail", status=503)
    assert (await api.signup(email="mailed@example.com")).status == 200
    while receiver.attempts.get("mail", 0) < 2:  # the outbox retries with its back-off
        await receiver.wait_for("mail", 1, within=0.2)
    receiver.behave("mail")
    mails = await receiver.wait_for("mail", 1)
    assert len(mails) == 1 and receiver.bad_signatures == 0
    data = mails[0].payload["data"]
    assert mails[0].payload["type"] == "send_email" and data["to"] == "mailed@example.com"
    assert "verify-email?token=" in data["text"] and data["subject"].startswith("Confirm your email address")


class TestPolicyAllow:
    @pytest.fixture
    def settings(self, receiver: Receiver) -> dict[str, Any]:
        return {"hooks": {"before_signup": hook(receiver, "signup", on_failure="allow", timeout_seconds=0.3),
                          "custom_access_token": hook(receiver, "claims", on_failure="allow")}}

    @pytest.mark.gen_test(timeout=30)
    async def test_a_hook_that_hangs_or_fails_is_passed_over(self, services: Services, api: Api,
                                                             receiver: Receiver) -> None:
        receiver.behave("signup", delay=2)
        started = time.monotonic()
        assert (await api.signup()).status == 200
        assert time.monotonic() - started < 1.5  # its timeout, not the receiver's delay
        receiver.behave("claims", status=500)
        tokens = await login_tokens(api)
        assert "tenant" not in token_claims(tokens["access_token"])


class TestWrongSecret:
    @pytest.fixture
    def settings(self, receiver: Receiver) -> dict[str, Any]:
        return {"hooks": {"before_signup": {**hook(receiver, "signup"), "secret": OTHER_SECRET}}}

    @pytest.mark.gen_test(timeout=30)
    async def test_a_receiver_refuses_a_call_it_cannot_verify(self, services: Services, api: Api,
                                                              receiver: Receiver) -> None:
        assert_error(await api.signup(), 503, "auth/hook-failed")
        assert receiver.bad_signatures == 1 and receiver.of("signup") == []


@pytest.mark.gen_test(timeout=30)
async def test_a_claim_another_feature_put_in_the_token_is_never_replaced_by_the_hook(receiver: Receiver) -> None:
    """Not only RESERVED_CLAIMS: any claim already in the token shown to the hook (e.g. one made through
    `extra_claims`, as issue 16's `is_anonymous` is) keeps our value; the hook's new claims are merged in."""
    receiver.behave("claims", answer={"claims": {"is_anonymous": False, "tenant": "acme"}})
    hooks = AuthHooks(poster=SignedPoster(), custom_access_token=HookConfig(
        name="custom_access_token", url=receiver.url("claims"), secret=receiver.secret))
    user = User.from_document({"_id": "u1", "email": "anon@example.com", "name": "", "password_hash": "",
                               "created_at": 1, "updated_at": 1})
    claims = await hooks.claims(user, {"sub": "u1", "is_anonymous": True})
    assert claims == {"sub": "u1", "is_anonymous": True, "tenant": "acme"}
    assert receiver.bad_signatures == 0 and len(receiver.of("claims")) == 1


class TestSendSms:
    @pytest.fixture
    def settings(self, receiver: Receiver) -> dict[str, Any]:
        return {"hooks": {"send_sms": hook(receiver, "sms")}}

    @pytest.mark.gen_test(timeout=30)
    async def test_texts_go_to_the_send_sms_hook_in_place_of_the_sms_backend(self, services: Services, api: Api,
                                                                             receiver: Receiver) -> None:
        assert (await api.post("/otp", {"phone": "+33612345678"})).status == 200
        await services.passwordless.worker.run_once()
        texts = await receiver.wait_for("sms", 1)
        assert len(texts) == 1 and receiver.bad_signatures == 0
        data = texts[0].payload["data"]
        assert texts[0].payload["type"] == "send_sms" and data["to"] == "+33612345678"
        assert data["purpose"] == "sign-in" and data["code"] in data["body"] and len(data["code"]) == 6
