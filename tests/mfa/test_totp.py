"""TOTP through the API, with codes from pyotp as an authenticator app makes them: enrolment, the aal1 -> aal2 step of
a login in its own session, wrong, replayed and expired codes, and what an aal1 token of such a user may reach."""

from __future__ import annotations

import time

import pytest
from support.api import Api, assert_error, token_claims
from support.mfa import code_for, enrol_totp, start_totp, verify_totp

from services.mfa import PendingSteps
from services.wiring import Services


@pytest.mark.gen_test
async def test_an_app_is_enrolled_with_its_first_code_and_the_session_becomes_aal2(api: Api) -> None:
    tokens = await api.signed_up_tokens(fresh=True)
    started = await start_totp(api, tokens["access_token"], "My phone")
    assert started["otpauth_uri"].startswith("otpauth://totp/")
    assert "issuer=Python%20JWT%20Auth" in started["otpauth_uri"] and started["secret"] in started["otpauth_uri"]
    assert started["qr_svg"].startswith("<svg")
    confirmed = await api.post("/user/mfa/totp/confirm", {"factor_id": started["factor_id"],
                                                          "code": code_for(started["secret"])},
                               token=tokens["access_token"])
    assert confirmed.status == 200, confirmed.body
    assert confirmed.json["code"] == "auth/mfa-enrolled"
    assert len(confirmed.json["recovery_codes"]) == 10 and len(set(confirmed.json["recovery_codes"])) == 10
    raised = confirmed.json["tokens"]
    claims = token_claims(raised["access_token"])
    assert (claims["aal"], claims["amr"]) == ("aal2", ["pwd", "otp", "mfa"])
    assert claims["sid"] == token_claims(tokens["access_token"])["sid"]
    listed = (await api.get("/user/mfa", token=raised["access_token"])).json
    assert [(f["id"], f["type"], f["name"]) for f in listed["factors"]] == [(started["factor_id"], "totp", "My phone")]
    assert listed["recovery_codes_left"] == 10


@pytest.mark.gen_test
async def test_enrolling_needs_a_fresh_token(api: Api) -> None:
    tokens = await api.signed_up_tokens()
    assert_error(await api.post("/user/mfa/totp", {}, token=tokens["access_token"]), 401, "auth/fresh-token-required")


@pytest.mark.gen_test
async def test_a_wrong_code_does_not_enrol(api: Api) -> None:
    tokens = await api.signed_up_tokens(fresh=True)
    started = await start_totp(api, tokens["access_token"])
    wrong = "000000" if code_for(started["secret"]) != "000000" else "111111"
    assert_error(await api.post("/user/mfa/totp/confirm", {"factor_id": started["factor_id"], "code": wrong},
                                token=tokens["access_token"]), 400, "auth/mfa-code-invalid")
    assert (await api.get("/user/mfa", token=tokens["access_token"])).json["factors"] == []


@pytest.mark.gen_test
async def test_a_login_with_a_factor_is_aal1_until_the_code_raises_the_same_session(api: Api) -> None:
    tokens = await api.signed_up_tokens(fresh=True)
    secret, enrolled = await enrol_totp(api, tokens["access_token"], "Phone")
    login = await api.login()
    assert login.status == 200
    assert login.json["mfa_required"] is True
    assert login.json["factors"] == [{"id": enrolled["factor_id"], "type": "totp", "name": "Phone"}]
    aal1 = login.json["tokens"]
    assert token_claims(aal1["access_token"])["aal"] == "aal1"
    # Until then: only the way to aal2 (and logging out).
    assert_error(await api.get("/user", token=aal1["access_token"]), 403, "auth/mfa-required")
    assert_error(await api.get("/user/sessions", token=aal1["access_token"]), 403, "auth/mfa-required")
    assert (await api.get("/user/mfa", token=aal1["access_token"])).status == 200
    assert (await api.refresh(aal1["refresh_token"])).status == 200
    verified = await verify_totp(api, aal1["access_token"], enrolled["factor_id"], code_for(secret, 1))
    assert verified.status == 200, verified.body
    assert "mfa_required" not in verified.json and verified.json["uid"] == login.json["uid"]
    aal2 = verified.json["tokens"]
    assert token_claims(aal2["access_token"])["aal"] == "aal2"
    assert token_claims(aal2["access_token"])["sid"] == token_claims(aal1["access_token"])["sid"]
    assert (await api.get("/user", token=aal2["access_token"])).status == 200
    sessions = (await api.get("/user/sessions", token=aal2["access_token"])).json["sessions"]
    assert token_claims(aal2["access_token"])["sid"] in [s["id"] for s in sessions]
    assert token_claims((await api.refreshed(aal2["refresh_token"]))["access_token"])["aal"] == "aal2"
    # The aal1 refresh token stopped: presented again, it is a copy, and the session ends with it.
    assert_error(await api.refresh(aal1["refresh_token"]), 401, "auth/token-revoked")


@pytest.mark.gen_test
async def test_a_code_is_accepted_once(api: Api) -> None:
    tokens = await api.signed_up_tokens(fresh=True)
    secret, enrolled = await enrol_totp(api, tokens["access_token"])
    code = code_for(secret, 1)
    first = (await api.login()).json["tokens"]["access_token"]
    assert (await verify_totp(api, first, enrolled["factor_id"], code)).status == 200
    second = (await api.login()).json["tokens"]["access_token"]
    assert_error(await verify_totp(api, second, enrolled["factor_id"], code), 400, "auth/mfa-code-invalid")
    # The confirmation's own code is used too: an earlier step never comes back.
    assert_error(await verify_totp(api, second, enrolled["factor_id"], code_for(secret)), 400,
                 "auth/mfa-code-invalid")


@pytest.mark.gen_test
async def test_an_expired_code_is_refused(api: Api) -> None:
    tokens = await api.signed_up_tokens(fresh=True)
    secret, enrolled = await enrol_totp(api, tokens["access_token"])
    aal1 = (await api.login()).json["tokens"]["access_token"]
    for steps in (-3, 3):
        assert_error(await verify_totp(api, aal1, enrolled["factor_id"], code_for(secret, steps)), 400,
                     "auth/mfa-code-invalid")


@pytest.mark.gen_test
async def test_a_challenge_expires_after_five_minutes(api: Api, services: Services) -> None:
    tokens = await api.signed_up_tokens(fresh=True)
    secret, enrolled = await enrol_totp(api, tokens["access_token"])
    aal1 = (await api.login()).json["tokens"]["access_token"]
    before = time.time()
    challenge = (await api.post("/mfa/challenge", {"factor_id": enrolled["factor_id"]}, token=aal1)).json
    assert before + 299 <= challenge["expires_at"] <= time.time() + 300
    key = PendingSteps.key("challenge", token_claims(aal1)["sub"], challenge["challenge_id"])
    assert 295 <= await services.redis.ttl(key) <= 300  # Redis drops it on its own
    # Five minutes later (the stored deadline moved back rather than the test waiting): the right code is refused.
    await services.redis.hset(key, "expires_at", int(time.time()) - 1)
    assert_error(await api.post("/mfa/verify", {"challenge_id": challenge["challenge_id"], "code": code_for(secret, 1)},
                                token=aal1), 400, "auth/mfa-challenge-invalid")


@pytest.mark.gen_test
async def test_a_challenge_is_used_once_and_only_in_its_own_session(api: Api) -> None:
    tokens = await api.signed_up_tokens(fresh=True)
    secret, enrolled = await enrol_totp(api, tokens["access_token"])
    aal1 = (await api.login()).json["tokens"]["access_token"]
    other = (await api.login()).json["tokens"]["access_token"]
    challenge = (await api.post("/mfa/challenge", {"factor_id": enrolled["factor_id"]}, token=aal1)).json
    assert set(challenge) == {"status", "challenge_id", "expires_at"}
    assert_error(await api.post("/mfa/verify", {"challenge_id": challenge["challenge_id"],
                                                "code": code_for(secret, 1)}, token=other), 400,
                 "auth/mfa-challenge-invalid")
    assert (await api.post("/mfa/verify", {"challenge_id": challenge["challenge_id"], "code": code_for(secret, 1)},
                           token=aal1)).status == 200
    aal1_again = (await api.login()).json["tokens"]["access_token"]
    assert_error(await api.post("/mfa/verify", {"challenge_id": challenge["challenge_id"], "code": code_for(secret)},
                                token=aal1_again), 400, "auth/mfa-challenge-invalid")


@pytest.mark.gen_test
async def test_the_stored_document_holds_no_plain_secret(api: Api, services: object) -> None:
    tokens = await api.signed_up_tokens(fresh=True)
    secret, _ = await enrol_totp(api, tokens["access_token"])
    database = services.database  # type: ignore[attr-defined]
    stored = [doc async for doc in database["mfa_factors"].find({})]
    assert len(stored) == 1 and stored[0]["secret"].startswith("v1.k1.")
    everything = repr(stored) + repr([doc async for doc in database["users"].find({})])
    assert secret not in everything and secret.lower() not in everything
    import base64
    assert base64.b32decode(secret).hex() not in everything
