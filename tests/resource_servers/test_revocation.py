"""POST /oauth/revoke (RFC 7009): a public client (a mobile app) hands back its own token to end its session.
The answer is the same for every token; only a token that still vouches for its holder ends anything."""

from __future__ import annotations

from typing import Any

import pytest
from support.api import Api, assert_error, assert_revoked, login_tokens, with_settings
from support.openapi import assert_documented

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


async def revoke(api: Api, token: str, hint: str = "refresh_token") -> Any:
    response = await api.request("POST", "/oauth/revoke", body=f"token={token}&token_type_hint={hint}", headers=FORM)
    assert_documented("/oauth/revoke", "post", response.status, response.headers, response.body)
    return response


def assert_accepted(response: Any) -> None:
    assert response.status == 200, response.body
    assert response.json == {"status": "success", "code": "auth/revocation-accepted",
                             "message": "If that token was live, its session has ended."}


@pytest.mark.gen_test(timeout=30)
async def test_a_refresh_token_ends_its_session_and_no_other(api: Api) -> None:
    phone = await api.signed_up_tokens()
    laptop = await login_tokens(api)
    assert_accepted(await revoke(api, phone["refresh_token"]))
    await assert_revoked(api, phone)
    assert (await api.get("/user", token=laptop["access_token"])).status == 200


@pytest.mark.gen_test(timeout=30)
async def test_an_access_token_ends_its_session_too(api: Api) -> None:
    tokens = await api.signed_up_tokens()
    assert_accepted(await revoke(api, tokens["access_token"], hint="access_token"))
    await assert_revoked(api, tokens)


@pytest.mark.gen_test(timeout=30)
async def test_every_token_gets_the_same_answer(api: Api) -> None:
    tokens = await api.signed_up_tokens()
    for token in ("garbage", "a.b.c", tokens["access_token"] + "x"):
        assert_accepted(await revoke(api, token))
    assert_accepted(await revoke(api, tokens["access_token"]))
    assert_accepted(await revoke(api, tokens["access_token"]))  # already revoked: the same again


@pytest.mark.gen_test(timeout=30)
async def test_a_stale_refresh_token_found_in_a_log_ends_nobodys_session(api: Api) -> None:
    tokens = await api.signed_up_tokens()
    child = (await api.post("/refresh", {"token": tokens["refresh_token"]})).json
    grandchild = (await api.post("/refresh", {"token": child["refresh_token"]})).json
    assert_accepted(await revoke(api, tokens["refresh_token"]))  # two generations old: vouches for nobody
    assert (await api.get("/user", token=grandchild["access_token"])).status == 200


@pytest.mark.gen_test(timeout=30)
async def test_a_json_body_works_and_no_token_is_a_bad_request(api: Api) -> None:
    tokens = await api.signed_up_tokens()
    assert_accepted(await api.post("/oauth/revoke", {"token": tokens["refresh_token"]}))
    await assert_revoked(api, tokens)
    assert_error(await api.request("POST", "/oauth/revoke", body="", headers=FORM), 400, "auth/missing-field")


@with_settings(rate_limit_token="3/1m")
@pytest.mark.gen_test(timeout=30)
async def test_revocation_is_rate_limited_per_client(api: Api, settings: dict[str, Any]) -> None:
    answers = [await revoke(api, "garbage") for _ in range(4)]
    assert [answer.status for answer in answers] == [200, 200, 200, 429]
    assert answers[0].headers["RateLimit-Limit"] == "3"
    assert_error(answers[3], 429, "auth/too-many-requests")
