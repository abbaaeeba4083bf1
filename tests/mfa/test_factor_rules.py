"""The rules around second factors: recovery codes used once, limits on wrong codes, re-authentication for the
changes that could hand over an account, removal (never the last way in), the mails, and MFA_ENFORCEMENT."""

from __future__ import annotations

import logging

import pytest
from support.api import Api, assert_error, token_claims, with_settings
from support.mail import SmtpServer, mail_settings
from support.mfa import audit_events, code_for, enrol_totp, start_totp, verify_totp
from support.webauthn import SoftwareAuthenticator

from services.wiring import Services

ORIGIN = "http://localhost:8080"


async def aal1_login(api: Api, fresh: bool = False) -> dict[str, str]:
    login = await api.login(fresh=fresh)
    assert login.status == 200 and login.json["mfa_required"] is True, login.body
    return login.json["tokens"]


@pytest.mark.gen_test
async def test_a_recovery_code_raises_a_session_once(api: Api) -> None:
    tokens = await api.signed_up_tokens(fresh=True)
    _, enrolled = await enrol_totp(api, tokens["access_token"])
    code = enrolled["recovery_codes"][3]
    first = await aal1_login(api)
    used = await api.post("/mfa/verify", {"recovery_code": code.upper().replace("-", " ")},
                          token=first["access_token"])
    assert used.status == 200, used.body
    assert token_claims(used.json["tokens"]["access_token"])["aal"] == "aal2"
    listed = await api.get("/user/mfa", token=used.json["tokens"]["access_token"])
    assert listed.json["recovery_codes_left"] == 9
    second = await aal1_login(api)
    assert_error(await api.post("/mfa/verify", {"recovery_code": code}, token=second["access_token"]), 400,
                 "auth/mfa-code-invalid")


@pytest.mark.gen_test
async def test_new_recovery_codes_replace_the_old_ones_and_need_a_fresh_aal2_token(api: Api) -> None:
    tokens = await api.signed_up_tokens(fresh=True)
    _, enrolled = await enrol_totp(api, tokens["access_token"])
    stale = await aal1_login(api)
    assert_error(await api.post("/user/mfa/recovery-codes", token=stale["access_token"]), 403, "auth/mfa-required")
    raised = enrolled["tokens"]["access_token"]  # fresh (the login was) and aal2 (the confirmation)
    replaced = await api.post("/user/mfa/recovery-codes", token=raised)
    assert replaced.status == 200 and replaced.json["code"] == "auth/recovery-codes-replaced"
    assert set(replaced.json["recovery_codes"]).isdisjoint(enrolled["recovery_codes"])
    assert_error(await api.post("/mfa/verify", {"recovery_code": enrolled["recovery_codes"][0]},
                                token=stale["access_token"]), 400, "auth/mfa-code-invalid")
    assert (await api.post("/mfa/verify", {"recovery_code": replaced.json["recovery_codes"][0]},
                           token=stale["access_token"])).status == 200


@with_settings(rate_limit_mfa_failures="3/15m", rate_limit_mfa_failures_account="100/15m")
@pytest.mark.gen_test
async def test_wrong_codes_lock_the_users_verifications_from_that_network(api: Api, settings: object,
                                                                        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="auth.audit")
    tokens = await api.signed_up_tokens(fresh=True)
    secret, enrolled = await enrol_totp(api, tokens["access_token"])
    aal1 = (await aal1_login(api))["access_token"]
    wrong = "000000" if code_for(secret, 1) != "000000" else "999999"
    for _ in range(3):
        assert_error(await api.post("/mfa/verify", {"recovery_code": "zzzzz-zzzzz"}, token=aal1), 400,
                     "auth/mfa-code-invalid")
    locked = await verify_totp(api, aal1, enrolled["factor_id"], code_for(secret, 1))
    assert_error(locked, 429, "auth/too-many-requests")
    assert int(locked.headers["Retry-After"]) >= 1
    assert audit_events(caplog, "mfa.limited") and len(audit_events(caplog, "mfa.failed")) == 3
    assert wrong  # the right code is refused as well while the lock holds: the guesser learns nothing


@with_settings(rate_limit_mfa_failures="3/15m", rate_limit_mfa_failures_account="5/15m",
               trusted_proxies=("127.0.0.1",))  # clients told apart by X-Forwarded-For from the loopback proxy
@pytest.mark.gen_test
async def test_wrong_codes_from_many_networks_reach_the_accounts_ceiling(api: Api, settings: object) -> None:
    tokens = await api.signed_up_tokens(fresh=True)
    _, enrolled = await enrol_totp(api, tokens["access_token"])
    aal1 = (await aal1_login(api))["access_token"]
    for network, tries in (("203.0.113.1", 3), ("203.0.113.2", 2)):
        for _ in range(tries):
            assert_error(await api.post("/mfa/verify", {"recovery_code": "zzzzz-zzzzz"}, token=aal1,
                                        headers={"X-Forwarded-For": network}), 400, "auth/mfa-code-invalid")
    # The first network is locked at 3; the account as a whole at 5: a third network gets no more guesses either.
    locked = await api.post("/mfa/verify", {"recovery_code": enrolled["recovery_codes"][0]}, token=aal1,
                            headers={"X-Forwarded-For": "198.51.100.7"})
    assert_error(locked, 429, "auth/too-many-requests")
    assert locked.headers["RateLimit-Limit"] == "5"


@with_settings(mfa_challenge_attempts=2)
@pytest.mark.gen_test
async def test_a_challenge_takes_only_so_many_wrong_codes(api: Api, settings: object) -> None:
    tokens = await api.signed_up_tokens(fresh=True)
    secret, enrolled = await enrol_totp(api, tokens["access_token"])
    aal1 = (await aal1_login(api))["access_token"]
    challenge = (await api.post("/mfa/challenge", {"factor_id": enrolled["factor_id"]}, token=aal1)).json
    right = code_for(secret, 1)
    wrong = "000000" if right != "000000" else "999999"
    for expected in ("auth/mfa-code-invalid", "auth/mfa-code-invalid"):
        assert_error(await api.post("/mfa/verify", {"challenge_id": challenge["challenge_id"], "code": wrong},
                                    token=aal1), 400, expected)
    assert_error(await api.post("/mfa/verify", {"challenge_id": challenge["challenge_id"], "code": right},
                                token=aal1), 400, "auth/mfa-challenge-invalid")


@pytest.mark.gen_test
async def test_sensitive_changes_need_aal2_once_the_user_has_a_factor(api: Api) -> None:
    tokens = await api.signed_up_tokens(fresh=True)
    secret, enrolled = await enrol_totp(api, tokens["access_token"])
    fresh_aal1 = (await aal1_login(api, fresh=True))["access_token"]
    # (With highest_available the aal1 token reaches none of them; with aal1 enforcement: test below.)
    for method, path, body in (("PATCH", "/user", {"password": "An0ther good passphrase!"}),
                               ("PATCH", "/user", {"email": "new@quazi.co"}), ("DELETE", "/user", None),
                               ("POST", "/user/mfa/totp", {}), ("POST", "/user/passkeys/options", {}),
                               ("DELETE", f"/user/mfa/{enrolled['factor_id']}", None)):
        assert_error(await api.request(method, path, json_body=body, token=fresh_aal1), 403, "auth/mfa-required")
    raised = (await verify_totp(api, fresh_aal1, enrolled["factor_id"], code_for(secret, 1))).json["tokens"]
    changed = await api.patch("/user", {"password": "An0ther good passphrase!"}, token=raised["access_token"])
    assert changed.status == 200, changed.body
    claims = token_claims(changed.json["tokens"]["access_token"])
    assert (claims["aal"], claims["data"]["fresh"]) == ("aal2", True)  # the new session is as strong as the old


@with_settings(mfa_enforcement="aal1")
@pytest.mark.gen_test
async def test_with_aal1_enforcement_every_endpoint_takes_aal1_but_sensitive_changes_still_need_aal2(
        api: Api, settings: object) -> None:
    tokens = await api.signed_up_tokens(fresh=True)
    await enrol_totp(api, tokens["access_token"])
    aal1 = await aal1_login(api, fresh=True)
    assert (await api.get("/user", token=aal1["access_token"])).status == 200
    assert (await api.get("/user/sessions", token=aal1["access_token"])).status == 200
    assert_error(await api.patch("/user", {"password": "An0ther good passphrase!"}, token=aal1["access_token"]), 403,
                 "auth/mfa-required")
    assert_error(await api.request("DELETE", "/user", token=aal1["access_token"]), 403, "auth/mfa-required")
    assert_error(await api.patch("/user", {"email": "new@quazi.co"}, token=aal1["access_token"]), 403,
                 "auth/mfa-required")


@pytest.mark.gen_test
async def test_logout_takes_an_aal1_token(api: Api) -> None:
    tokens = await api.signed_up_tokens(fresh=True)
    await enrol_totp(api, tokens["access_token"])
    aal1 = await aal1_login(api)
    assert (await api.post("/logout", token=aal1["access_token"])).status == 200
    assert_error(await api.get("/user/mfa", token=aal1["access_token"]), 401, "auth/token-revoked")


@pytest.mark.gen_test
async def test_removing_the_last_factor_makes_logins_single_factor_again(api: Api) -> None:
    tokens = await api.signed_up_tokens(fresh=True)
    _, enrolled = await enrol_totp(api, tokens["access_token"])
    raised = enrolled["tokens"]["access_token"]
    assert_error(await api.request("DELETE", "/user/mfa/" + "x" * 32, token=raised), 404,
                 "auth/mfa-factor-not-found")
    removed = await api.request("DELETE", f"/user/mfa/{enrolled['factor_id']}", token=raised)
    assert removed.status == 200 and removed.json["code"] == "auth/mfa-factor-removed"
    login = await api.login()
    assert "mfa_required" not in login.json and set(login.json) == {
        "created_at", "email", "email_verified", "name", "status", "tokens", "uid", "updated_at"}
    assert (await api.get("/user", token=login.json["tokens"]["access_token"])).status == 200
    assert (await api.get("/user/mfa", token=login.json["tokens"]["access_token"])).json["recovery_codes_left"] == 0


@pytest.mark.gen_test
async def test_the_last_passkey_of_an_account_without_a_password_stays(api: Api, services: Services) -> None:
    tokens = await api.signed_up_tokens(fresh=True)
    authenticator = SoftwareAuthenticator(ORIGIN)
    ids = []
    for name in ("One", "Two"):
        options = (await api.post("/user/passkeys/options", {"name": name}, token=tokens["access_token"])).json
        added = await api.post("/user/passkeys", {"challenge_id": options["challenge_id"],
                                                  "credential": authenticator.create(options["options"])},
                               token=tokens["access_token"])
        assert added.status == 200, added.body
        tokens = added.json["tokens"]
    listed = (await api.get("/user/passkeys", token=tokens["access_token"])).json["passkeys"]
    ids = [passkey["id"] for passkey in listed]
    assert len(ids) == 2
    uid = token_claims(tokens["access_token"])["sub"]
    await services.users.update(uid, {"password_hash": ""})  # an account a passkey made, say, with no password
    assert (await api.request("DELETE", f"/user/passkeys/{ids[0]}", token=tokens["access_token"])).status == 200
    assert_error(await api.request("DELETE", f"/user/passkeys/{ids[1]}", token=tokens["access_token"]), 409,
                 "auth/last-sign-in-method")
    assert_error(await api.request("DELETE", f"/user/mfa/{ids[1]}", token=tokens["access_token"]), 409,
                 "auth/last-sign-in-method")


@pytest.fixture
def settings(request: pytest.FixtureRequest, smtp_server: SmtpServer) -> dict[str, object]:
    """Mail to the test's SMTP server, plus what a test asks for with `with_settings`."""
    smtp_server.clear()
    return {**mail_settings(smtp_server), **dict(getattr(request, "param", {}))}


@pytest.mark.gen_test
async def test_the_owner_is_mailed_when_a_factor_comes_and_goes(api: Api, smtp_server: SmtpServer) -> None:
    tokens = await api.signed_up_tokens(fresh=True)
    _, enrolled = await enrol_totp(api, tokens["access_token"], "Work phone")
    await api.request("DELETE", f"/user/mfa/{enrolled['factor_id']}", token=enrolled["tokens"]["access_token"])
    added = await smtp_server.mail("omar@quazi.co", "A sign-in method was added")
    removed = await smtp_server.mail("omar@quazi.co", "A sign-in method was removed")
    assert "Work phone" in added.text and "Work phone" in removed.text
    assert "authenticator app" in added.text.lower()


@pytest.mark.gen_test
async def test_a_pending_app_waits_in_its_own_session_only(api: Api) -> None:
    tokens = await api.signed_up_tokens(fresh=True)
    started = await start_totp(api, tokens["access_token"])
    other = (await api.login(fresh=True)).json["tokens"]["access_token"]
    assert_error(await api.post("/user/mfa/totp/confirm", {"factor_id": started["factor_id"],
                                                           "code": code_for(started["secret"])}, token=other), 404,
                 "auth/mfa-factor-not-found")


@pytest.mark.gen_test
async def test_deleting_the_account_deletes_its_factors_and_recovery_codes(api: Api, services: Services) -> None:
    tokens = await api.signed_up_tokens(fresh=True)
    _, enrolled = await enrol_totp(api, tokens["access_token"])
    assert (await api.request("DELETE", "/user", token=enrolled["tokens"]["access_token"])).status == 200
    assert [doc async for doc in services.database["mfa_factors"].find({})] == []
    assert [doc async for doc in services.database["mfa_recovery_codes"].find({})] == []


@pytest.mark.gen_test
async def test_a_password_reset_keeps_the_second_factor(api: Api, services: Services) -> None:
    """A mailbox alone must not pass the second factor: after a reset, a login still asks for it."""
    tokens = await api.signed_up_tokens(fresh=True)
    await enrol_totp(api, tokens["access_token"])
    user = await services.users.find_by_email("omar@quazi.co")
    assert user is not None
    link = await services.tokens.links.issue(user, "reset")
    reset = await api.post("/password/reset", {"token": link, "password": "A brand new passphrase 77"})
    assert reset.status == 200, reset.body
    login = await api.login(password="A brand new passphrase 77")
    assert login.json["mfa_required"] is True
    assert_error(await api.get("/user", token=login.json["tokens"]["access_token"]), 403, "auth/mfa-required")
