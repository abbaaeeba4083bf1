"""A session's assurance (NIST 800-63B AAL, RFC 8176 `amr`): in every access token, kept by refreshes, raised in the
same session by a second factor, and never to be forged or overwritten by a feature's extra claims."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from support.api import Api, assert_error, token_claims

from services.context import Client
from services.tokens import Assurance
from services.wiring import Services

CLIENT = Client(ip="203.0.113.7", user_agent="test")


@pytest.mark.redis_cluster_too
@pytest.mark.gen_test
async def test_a_password_login_is_aal1_by_password_and_its_refreshes_keep_that(api: Api) -> None:
    tokens = await api.signed_up_tokens()
    assert {k: token_claims(tokens["access_token"])[k] for k in ("aal", "amr")} == {"aal": "aal1", "amr": ["pwd"]}
    refreshed = await api.post("/refresh", {"token": tokens["refresh_token"]})
    assert {k: token_claims(refreshed.json["access_token"])[k] for k in ("aal", "amr")} == {
        "aal": "aal1", "amr": ["pwd"]}
    assert "aal" not in token_claims(tokens["refresh_token"])  # the session's record holds it for refreshes


@pytest.mark.redis_cluster_too
@pytest.mark.gen_test
async def test_a_second_factor_raises_the_same_session_and_ends_its_earlier_refresh_token(
        api: Api, services: Services) -> None:
    tokens = await api.signed_up_tokens()
    caller = await services.sessions.authenticator.authenticate(tokens["access_token"])
    raised = await services.sessions.manager.elevate(caller, caller.assurance.with_second_factor("otp"), CLIENT)
    claims = token_claims(raised.access.token)
    assert (claims["aal"], claims["amr"], claims["sid"]) == ("aal2", ["pwd", "otp", "mfa"], caller.session_id)
    sessions = (await api.get("/user/sessions", token=raised.access.token)).json["sessions"]
    assert [session["id"] for session in sessions] == [caller.session_id]  # the same session, no second one
    # The refresh token from before the second factor (on the device, or a copy of it) refreshes no longer ...
    assert_error(await api.post("/refresh", {"token": tokens["refresh_token"]}), 401, "auth/token-revoked")
    # ... and the session ended with it: a copy taken at aal1 never turns into aal2 tokens.
    assert_error(await api.get("/user", token=raised.access.token), 401, "auth/token-revoked")


@pytest.mark.gen_test
async def test_refreshing_a_raised_session_keeps_aal2(api: Api, services: Services) -> None:
    tokens = await api.signed_up_tokens()
    caller = await services.sessions.authenticator.authenticate(tokens["access_token"])
    raised = await services.sessions.manager.elevate(caller, caller.assurance.with_second_factor("otp"), CLIENT)
    refreshed = await api.post("/refresh", {"token": raised.refresh.token})
    assert refreshed.status == 200, refreshed.body
    assert token_claims(refreshed.json["access_token"])["aal"] == "aal2"


@pytest.mark.gen_test
async def test_no_extra_claim_may_replace_a_claim_the_checks_read(services: Services) -> None:
    for name in ("sub", "aal", "amr", "epoch", "sid", "data", "exp"):
        with pytest.raises(ValueError, match=name):
            services.tokens.jwts.issue("5a1b", "access_token", 0, "s1", extra_claims={name: "x"})
    issued = services.tokens.jwts.issue("5a1b", "access_token", 0, "s1", extra_claims={"app_metadata": {"r": 1}})
    assert token_claims(issued.token)["app_metadata"] == {"r": 1}


@pytest.mark.parametrize("claims", [{"aal": "aal3", "amr": ["pwd"]}, {"aal": "aal2"}, {"aal": "aal2", "amr": "pwd"},
                                    {"aal": "aal2", "amr": [1]}], ids=["aal3", "no-amr", "amr-string", "amr-number"])
@pytest.mark.gen_test
async def test_an_assurance_we_never_issue_is_refused_even_when_signed(api: Api, keys_dir: Path,
                                                                      claims: dict[str, Any]) -> None:
    tokens = await api.signed_up_tokens()
    payload = {**token_claims(tokens["access_token"]), **claims, "iat": int(time.time()), "nbf": int(time.time())}
    if "amr" not in claims:
        payload.pop("amr")
    header = jwt.get_unverified_header(tokens["access_token"])
    key = (keys_dir / f"{header['kid']}.key").read_bytes()
    forged = jwt.encode(payload, key, algorithm="RS256", headers={"kid": header["kid"], "typ": "at+jwt"})
    assert_error(await api.get("/user", token=forged), 401, "auth/token-invalid")


def test_a_second_factor_adds_its_method_and_mfa_once() -> None:
    once = Assurance.single("pwd").with_second_factor("otp")
    assert once == Assurance("aal2", ("pwd", "otp", "mfa"))
    assert once.with_second_factor("hwk") == Assurance("aal2", ("pwd", "otp", "mfa", "hwk"))
