"""Refresh and bearer tokens over HTTP: the three ways to refresh, the two headers, and every token refusal."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
import pytest
from support.api import Api, Response, assert_error

# The seed's three fields, plus the rotated refresh token.
REFRESH_KEYS = {"access_token", "exp", "refresh_token", "status"}



async def assert_works(api: Api, access_token: str) -> dict[str, Any]:
    response = await api.get("/user", token=access_token)
    assert response.status == 200, response.body
    return response.json


def hand_signed(keys_dir: Path, like: str, issued: int, lifetime: int = 900) -> str:
    """An access token for the user and session of `like`, signed with the server's own key, issued at `issued`."""
    private = next(keys_dir.glob("*.key"))
    claims = jwt.decode(like, options={"verify_signature": False})
    payload = {"iat": issued, "nbf": issued, "exp": issued + lifetime, "iss": "localhost", "aud": "python-jwt-auth",
               "sub": claims["sub"], "sid": claims["sid"], "jti": str(uuid.uuid4()), "epoch": 0,
               "data": {"type": "access_token", "fresh": False}}
    return jwt.encode(payload, private.read_bytes(), algorithm="RS256", headers={"kid": private.stem, "typ": "at+jwt"})


# --- refresh ------------------------------------------------------------------------------------------


async def refresh_get_with_body(api: Api, token: str) -> Response:
    """Exactly as the seed sends it: a GET with a JSON body."""
    return await api.request("GET", "/refresh", json_body={"token": token})


async def refresh_post(api: Api, token: str) -> Response:
    return await api.post("/refresh", {"token": token})


async def refresh_query(api: Api, token: str) -> Response:
    return await api.get(f"/refresh?token={token}")


REFRESHES = [refresh_get_with_body, refresh_post, refresh_query]


@pytest.mark.gen_test
@pytest.mark.parametrize("refresh", REFRESHES, ids=["get-body", "post", "get-query"])
async def test_refresh_answers_the_seed_shape_and_the_new_token_works(api: Api, refresh: Any) -> None:
    tokens = await api.signed_up_tokens()
    before = int(time.time())
    response = await refresh(api, tokens["refresh_token"])
    assert response.status == 200, response.body
    body = response.json
    assert set(body) == REFRESH_KEYS
    assert body["status"] == "success"
    assert type(body["exp"]) is int
    assert before + 900 <= body["exp"] <= int(time.time()) + 900
    assert body["access_token"] != tokens["access_token"]
    assert jwt.decode(body["access_token"], options={"verify_signature": False})["exp"] == body["exp"]
    user = await assert_works(api, body["access_token"])
    assert user["email"] == "omar@quazi.co"


@pytest.mark.gen_test
@pytest.mark.parametrize("refresh", REFRESHES, ids=["get-body", "post", "get-query"])
async def test_refresh_with_an_access_token_is_invalid(api: Api, refresh: Any) -> None:
    tokens = await api.signed_up_tokens()
    assert_error(await refresh(api, tokens["access_token"]), 401, "auth/token-invalid")


@pytest.mark.gen_test
async def test_refresh_without_a_token_is_missing(api: Api) -> None:
    assert (await api.signup()).status == 200
    assert_error(await api.get("/refresh"), 401, "auth/token-missing")
    assert_error(await api.post("/refresh", {}), 401, "auth/token-missing")
    assert_error(await api.post("/refresh", {"token": None}), 401, "auth/token-missing")
    assert_error(await api.get("/refresh?token="), 401, "auth/token-missing")


@pytest.mark.gen_test
async def test_refresh_refuses_a_malformed_body(api: Api) -> None:
    tokens = await api.signed_up_tokens()
    assert_error(await api.request("POST", "/refresh", body=b"{nope"), 400, "auth/invalid-json")
    assert_error(await api.post("/refresh", {"token": {"$ne": ""}}), 400, "auth/invalid-field")
    assert_error(await api.post("/refresh", [tokens["refresh_token"]]), 400, "auth/invalid-json")


@pytest.mark.gen_test
@pytest.mark.parametrize("garbage", ["garbage", "a.b.c", "eyJhbGciOiJub25lIn0.e30.", "x" * 9000])
async def test_refresh_with_garbage_is_invalid(api: Api, garbage: str) -> None:
    assert_error(await refresh_post(api, garbage), 401, "auth/token-invalid")


# --- bearer tokens on /user ---------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_user_with_a_refresh_token_is_invalid(api: Api) -> None:
    tokens = await api.signed_up_tokens()
    assert_error(await api.get("/user", token=tokens["refresh_token"]), 401, "auth/token-invalid")
    await assert_works(api, tokens["access_token"])


@pytest.mark.gen_test
@pytest.mark.parametrize("headers", [{}, {"python-auth": ""}, {"python-auth": "Bearer"}, {"python-auth": "Bearer   "},
                                     {"Authorization": "Bearer "}],
                         ids=["none", "empty", "scheme-only", "scheme-and-spaces", "authorization-empty"])
async def test_user_without_a_token_is_missing(api: Api, headers: dict[str, str]) -> None:
    await api.signed_up_tokens()
    assert_error(await api.get("/user", headers=headers), 401, "auth/token-missing")


@pytest.mark.gen_test
@pytest.mark.parametrize("garbage", ["garbage", "a.b.c", "eyJhbGciOiJub25lIn0.e30.", "x" * 9000])
async def test_user_with_garbage_is_invalid(api: Api, garbage: str) -> None:
    assert_error(await api.get("/user", token=garbage), 401, "auth/token-invalid")


@pytest.mark.gen_test
async def test_a_token_with_a_tampered_signature_is_invalid(api: Api) -> None:
    token = (await api.signed_up_tokens())["access_token"]
    head, payload, signature = token.split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    assert_error(await api.get("/user", token=f"{head}.{payload}.{flipped}"), 401, "auth/token-invalid")


@pytest.mark.gen_test
@pytest.mark.parametrize("header", ["python-auth", "Authorization", "PYTHON-AUTH"])
@pytest.mark.parametrize("template", ["Bearer {}", "Bearer  {}", "bearer {}", " Bearer {} "],
                         ids=["one-space", "seed-double-space", "lowercase-scheme", "padded"])
async def test_both_headers_carry_the_token(api: Api, header: str, template: str) -> None:
    token = (await api.signed_up_tokens())["access_token"]
    response = await api.get("/user", headers={header: template.format(token)})
    assert response.status == 200, response.body
    assert response.json["email"] == "omar@quazi.co"


@pytest.mark.gen_test
@pytest.mark.parametrize("value", ["Basic {}", "Token {}", "{}"], ids=["basic", "other-scheme", "no-scheme"])
async def test_a_token_under_another_scheme_is_not_read(api: Api, value: str) -> None:
    token = (await api.signed_up_tokens())["access_token"]
    assert_error(await api.get("/user", headers={"Authorization": value.format(token)}), 401, "auth/token-missing")


# --- expiry -------------------------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_hand_signed_token_past_its_exp_is_expired(api: Api, keys_dir: Path) -> None:
    tokens = await api.signed_up_tokens()
    like = tokens["access_token"]
    now = int(time.time())
    await assert_works(api, hand_signed(keys_dir, like, issued=now - 60))  # control: the same signing, still valid
    assert_error(await api.get("/user", token=hand_signed(keys_dir, like, issued=now - 960)), 401, "auth/token-expired")


@pytest.mark.gen_test(timeout=20)
@pytest.mark.parametrize("settings", [{"jwt_access_token_lifetime": 2}], ids=["2s-access"])
async def test_an_access_token_expires_after_its_lifetime(api: Api, settings: dict[str, Any]) -> None:
    """The token is used once first, so the verified-token cache must also notice the expiry.

    Times are whole seconds (RFC 7519 NumericDate): a 2 s token is good for at least one second, a 1 s token
    issued at the end of a second for a few milliseconds only."""
    tokens = await api.signed_up_tokens()
    await assert_works(api, tokens["access_token"])
    refreshed = (await refresh_post(api, tokens["refresh_token"])).json["access_token"]
    await asyncio.sleep(3.1)
    for token in (tokens["access_token"], refreshed):
        assert_error(await api.get("/user", token=token), 401, "auth/token-expired")
    renewed = await refresh_post(api, tokens["refresh_token"])
    assert renewed.status == 200, renewed.body
    await assert_works(api, renewed.json["access_token"])


@pytest.mark.gen_test(timeout=20)
@pytest.mark.parametrize("settings", [{"jwt_access_token_lifetime": 1, "jwt_refresh_token_lifetime": 3}],
                         ids=["3s-refresh"])
async def test_an_expired_refresh_token_is_refused(api: Api, settings: dict[str, Any]) -> None:
    tokens = await api.signed_up_tokens()
    assert (await refresh_post(api, tokens["refresh_token"])).status == 200
    await asyncio.sleep(4.1)
    assert_error(await refresh_post(api, tokens["refresh_token"]), 401, "auth/token-expired")
