"""Passkeys through the API with a software authenticator (tests/support/webauthn.py): registration, sign-in with a
discoverable credential and with an address, and each check of the relying party: origin, RP ID, challenge, sign
counter, and the credential's owner."""

from __future__ import annotations

import logging

import pytest
from support.api import Api, assert_error, token_claims
from support.mfa import audit_events
from support.webauthn import SoftwareAuthenticator

ORIGIN = "http://localhost:8080"  # APP_URL's origin: the default of WEBAUTHN_ORIGINS


async def register(api: Api, token: str, authenticator: SoftwareAuthenticator, name: str = "Laptop",
                   **lie: str) -> tuple[dict[str, object], object]:
    options = await api.post("/user/passkeys/options", {"name": name}, token=token)
    assert options.status == 200, options.body
    credential = authenticator.create(options.json["options"], **lie)
    response = await api.post("/user/passkeys", {"challenge_id": options.json["challenge_id"],
                                                 "credential": credential}, token=token)
    return options.json, response


async def sign_in(api: Api, authenticator: SoftwareAuthenticator, email: str | None = None, **lie: object) -> object:
    options = await api.post("/login/passkey/options", {"email": email} if email else {})
    assert options.status == 200, options.body
    credential = authenticator.get(options.json["options"], **lie)
    return await api.post("/login/passkey", {"challenge_id": options.json["challenge_id"], "credential": credential})


@pytest.mark.gen_test
async def test_a_passkey_is_registered_and_signs_in_at_aal2_without_an_address(api: Api) -> None:
    tokens = await api.signed_up_tokens(fresh=True)
    authenticator = SoftwareAuthenticator(ORIGIN)
    options, added = await register(api, tokens["access_token"], authenticator)
    creation = options["options"]
    assert creation["rp"] == {"id": "localhost", "name": "Python JWT Auth"}
    assert creation["authenticatorSelection"]["residentKey"] == "preferred"
    assert creation["attestation"] == "none"
    assert added.status == 200, added.body
    assert added.json["code"] == "auth/passkey-added" and len(added.json["recovery_codes"]) == 10
    claims = token_claims(added.json["tokens"]["access_token"])
    assert (claims["aal"], claims["amr"]) == ("aal2", ["pwd", "hwk", "user", "mfa"])
    signed_in = await sign_in(api, authenticator)
    assert signed_in.status == 200, signed_in.body
    assert signed_in.json["email"] == "omar@quazi.co" and "mfa_required" not in signed_in.json
    claims = token_claims(signed_in.json["tokens"]["access_token"])
    assert (claims["aal"], claims["amr"]) == ("aal2", ["hwk", "user"])
    assert (await api.get("/user", token=signed_in.json["tokens"]["access_token"])).status == 200
    listed = (await api.get("/user/passkeys", token=signed_in.json["tokens"]["access_token"])).json["passkeys"]
    assert [(p["name"], p["type"]) for p in listed] == [("Laptop", "webauthn")] and listed[0]["last_used_at"]


@pytest.mark.gen_test
async def test_a_passkey_without_user_verification_signs_in_at_aal1_and_a_password_login_asks_for_it(
        api: Api) -> None:
    tokens = await api.signed_up_tokens(fresh=True)
    synced = SoftwareAuthenticator(ORIGIN, verifies_user=False, synced=True)
    _, added = await register(api, tokens["access_token"], synced)
    assert added.status == 200, added.body
    signed_in = await sign_in(api, synced, email="omar@quazi.co")
    assert signed_in.status == 200, signed_in.body
    claims = token_claims(signed_in.json["tokens"]["access_token"])
    assert (claims["aal"], claims["amr"]) == ("aal1", ["swk"])
    assert signed_in.json["mfa_required"] is True
    login = (await api.login()).json
    assert login["mfa_required"] is True and login["factors"][0]["type"] == "webauthn"
    aal1 = login["tokens"]["access_token"]
    challenge = (await api.post("/mfa/challenge", {"factor_id": login["factors"][0]["id"]}, token=aal1)).json
    assert challenge["options"]["allowCredentials"][0]["id"]
    verified = await api.post("/mfa/verify", {"challenge_id": challenge["challenge_id"],
                                              "credential": synced.get(challenge["options"])}, token=aal1)
    assert verified.status == 200, verified.body
    assert token_claims(verified.json["tokens"]["access_token"])["amr"] == ["pwd", "swk", "mfa"]


@pytest.mark.gen_test
async def test_a_ceremony_from_another_origin_or_for_another_rp_id_is_refused(api: Api) -> None:
    tokens = await api.signed_up_tokens(fresh=True)
    _, wrong_origin = await register(api, tokens["access_token"], SoftwareAuthenticator(ORIGIN),
                                     origin="https://evil.example")
    assert_error(wrong_origin, 400, "auth/passkey-invalid")
    _, wrong_rp = await register(api, tokens["access_token"], SoftwareAuthenticator(ORIGIN), rp_id="evil.example")
    assert_error(wrong_rp, 400, "auth/passkey-invalid")
    authenticator = SoftwareAuthenticator(ORIGIN)
    _, added = await register(api, tokens["access_token"], authenticator)
    assert added.status == 200
    assert_error(await sign_in(api, authenticator, origin="https://evil.example"), 400, "auth/passkey-invalid")
    assert_error(await sign_in(api, authenticator, rp_id="evil.example"), 400, "auth/passkey-invalid")


@pytest.mark.gen_test
async def test_a_challenge_answers_once(api: Api) -> None:
    tokens = await api.signed_up_tokens(fresh=True)
    authenticator = SoftwareAuthenticator(ORIGIN)
    _, added = await register(api, tokens["access_token"], authenticator)
    assert added.status == 200
    options = (await api.post("/login/passkey/options", {})).json
    answer = authenticator.get(options["options"])
    body = {"challenge_id": options["challenge_id"], "credential": answer}
    assert (await api.post("/login/passkey", body)).status == 200
    assert_error(await api.post("/login/passkey", body), 400, "auth/mfa-challenge-invalid")
    # The same assertion against a new challenge: its client data names the old one.
    fresh = (await api.post("/login/passkey/options", {})).json
    assert_error(await api.post("/login/passkey", {"challenge_id": fresh["challenge_id"], "credential": answer}), 400,
                 "auth/passkey-invalid")
    # Counted as passkey sign-ins (auth_mfa_total), not as password logins (auth_logins_total).
    lines = (await api.get("/metrics")).body.decode().splitlines()
    for line in ('auth_mfa_total{action="sign-in-passkey",outcome="success"} 1.0',
                 'auth_mfa_total{action="sign-in-passkey",outcome="auth/passkey-invalid"} 1.0'):
        assert line in lines, line
    assert 'auth_logins_total{outcome="success"} 1.0' in lines  # the password login of signed_up_tokens only


@pytest.mark.gen_test
async def test_a_sign_counter_that_goes_back_is_refused_and_audited(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="auth.audit")
    tokens = await api.signed_up_tokens(fresh=True)
    authenticator = SoftwareAuthenticator(ORIGIN)
    _, added = await register(api, tokens["access_token"], authenticator)
    assert added.status == 200
    assert (await sign_in(api, authenticator, sign_count=5)).status == 200
    assert_error(await sign_in(api, authenticator, sign_count=5), 400, "auth/passkey-invalid")
    assert_error(await sign_in(api, authenticator, sign_count=3), 400, "auth/passkey-invalid")
    assert [(e["stored"], e["seen"]) for e in audit_events(caplog, "passkey.counter_regression")] == [(5, 5), (5, 3)]
    assert (await sign_in(api, authenticator, sign_count=6)).status == 200


@pytest.mark.gen_test
async def test_a_credential_of_another_user_signs_in_nobody_else(api: Api) -> None:
    mine = SoftwareAuthenticator(ORIGIN)
    _, added = await register(api, (await api.signed_up_tokens("a@quazi.co", fresh=True))["access_token"], mine)
    assert added.status == 200
    theirs = SoftwareAuthenticator(ORIGIN)
    _, added = await register(api, (await api.signed_up_tokens("b@quazi.co", fresh=True))["access_token"], theirs)
    assert added.status == 200
    # Options for b's address do not take a's passkey ...
    assert_error(await sign_in(api, mine, email="b@quazi.co", credential=mine.credentials[0]), 400,
                 "auth/passkey-invalid")
    # ... and a's passkey claiming b's user handle is refused as well.
    handle_of_b = theirs.credentials[0].user_handle
    assert_error(await sign_in(api, mine, user_handle=handle_of_b), 400, "auth/passkey-invalid")
    # As second factor: a's passkey answers no challenge of b's.
    login = (await api.login("b@quazi.co")).json
    aal1 = login["tokens"]["access_token"]
    challenge = (await api.post("/mfa/challenge", {"factor_id": login["factors"][0]["id"]}, token=aal1)).json
    forged = mine.get(challenge["options"], credential=mine.credentials[0])
    assert_error(await api.post("/mfa/verify", {"challenge_id": challenge["challenge_id"], "credential": forged},
                                token=aal1), 400, "auth/passkey-invalid")


@pytest.mark.gen_test
async def test_options_for_an_unknown_address_look_like_a_known_ones(api: Api) -> None:
    tokens = await api.signed_up_tokens(fresh=True)
    _, added = await register(api, tokens["access_token"], SoftwareAuthenticator(ORIGIN))
    assert added.status == 200
    known = (await api.post("/login/passkey/options", {"email": "omar@quazi.co"})).json
    unknown = (await api.post("/login/passkey/options", {"email": "nobody@quazi.co"})).json
    again = (await api.post("/login/passkey/options", {"email": "nobody@quazi.co"})).json
    assert set(known) == set(unknown) and set(known["options"]) == set(unknown["options"])
    assert [set(c) for c in known["options"]["allowCredentials"]] == [
        set(c) for c in unknown["options"]["allowCredentials"]]
    assert unknown["options"]["allowCredentials"] == again["options"]["allowCredentials"]
    discoverable = (await api.post("/login/passkey/options", {})).json
    assert discoverable["options"]["allowCredentials"] == []
