"""POST /oauth/introspect (RFC 7662): only for holders of an introspection key; active exactly while this server
would accept the token, and then exactly `{"active": false}`; never cached."""

from __future__ import annotations

import base64
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from support.admin import admin_key
from support.api import EMAIL, Api, assert_error, login_tokens
from support.openapi import assert_documented
from support.resource_apps import INTROSPECTION_KEY

from commands.users import run_users_command
from services.wiring import Services

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


async def introspect(api: Api, token: str, key: str | None = INTROSPECTION_KEY,
                     headers: dict[str, str] | None = None) -> Any:
    auth = {"Authorization": f"Bearer {key}"} if key else {}
    response = await api.request("POST", "/oauth/introspect", body=f"token={token}&token_type_hint=access_token",
                                 headers={**FORM, **auth, **(headers or {})})
    assert_documented("/oauth/introspect", "post", response.status, response.headers, response.body)
    return response


async def active(api: Api, token: str) -> bool:
    response = await introspect(api, token)
    assert response.status == 200, response.body
    assert response.headers["Cache-Control"] == "no-store"  # RFC 7662 §4
    return response.json["active"]


@pytest.mark.gen_test(timeout=30)
async def test_a_live_access_token_is_active_with_its_claims(api: Api, config: Any) -> None:
    tokens = await api.signed_up_tokens()
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    answer = (await introspect(api, tokens["access_token"])).json
    assert answer == {"active": True, "sub": claims["sub"], "exp": claims["exp"], "iat": claims["iat"],
                      "nbf": claims["nbf"], "iss": config.jwt_issuer, "aud": config.jwt_audience,
                      "jti": claims["jti"], "sid": claims["sid"], "token_type": "Bearer", "token_use": "access_token",
                      "aal": "aal1", "amr": ["pwd"]}
    refresh = (await introspect(api, tokens["refresh_token"])).json
    assert refresh["active"] and refresh["token_use"] == "refresh_token"


@pytest.mark.gen_test(timeout=30)
async def test_claims_of_other_issues_are_passed_on_when_a_token_carries_them(api: Api, keys_dir: Path) -> None:
    """aal and amr (second factors, issue 15) and app_metadata (the admin API, issue 17)."""
    real = (await api.signed_up_tokens())["access_token"]
    header = {name: value for name, value in jwt.get_unverified_header(real).items() if name != "alg"}
    claims = jwt.decode(real, options={"verify_signature": False})
    key = serialization.load_pem_private_key((keys_dir / f"{header['kid']}.key").read_bytes(), password=None)
    extra = {"aal": "aal2", "amr": ["pwd", "otp"], "app_metadata": {"roles": ["editor"]}}
    richer = jwt.encode({**claims, **extra, "jti": "0b7c2a4e-8f1d-4c3a-9e2b-5d6f7a8b9c0e"}, key, algorithm="RS256",
                        headers=header)
    answer = (await introspect(api, richer)).json
    assert {name: answer[name] for name in extra} == extra


@pytest.mark.gen_test(timeout=30)
async def test_an_admin_key_opens_introspection_only_with_the_introspect_scope(api: Api, services: Services) -> None:
    tokens = await api.signed_up_tokens()
    scoped = await admin_key(services, "introspect", name="orders-api")
    answer = await introspect(api, tokens["access_token"], key=scoped)
    assert answer.status == 200 and answer.json["active"] is True
    for key in (await admin_key(services, "users:read", "users:write", name="backoffice"), tokens["access_token"]):
        assert_error(await introspect(api, tokens["access_token"], key=key), 401, "auth/admin-key-required")
    await services.admin.keys.revoke("orders-api")
    assert_error(await introspect(api, tokens["access_token"], key=scoped), 401, "auth/admin-key-required")


@pytest.mark.gen_test(timeout=30)
async def test_anything_not_live_is_exactly_inactive(api: Api, services: Services) -> None:
    tokens = await api.signed_up_tokens()
    now = int(time.time())
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert not await active(api, "garbage")
    assert not await active(api, jwt.encode({**claims, "exp": now - 10}, "x" * 32, algorithm="HS256"))
    rotated = (await api.post("/refresh", {"token": tokens["refresh_token"]})).json["refresh_token"]
    await api.post("/refresh", {"token": rotated})  # the first refresh token is now two generations old
    assert not await active(api, tokens["refresh_token"])
    other = await login_tokens(api)
    assert await active(api, other["access_token"])
    await api.post("/logout/all", token=other["access_token"])
    response = await introspect(api, other["access_token"])
    assert response.json == {"active": False}
    again = await login_tokens(api)
    assert await run_users_command(services, "disable", EMAIL) == 0
    assert (await introspect(api, again["access_token"])).json == {"active": False}


@pytest.mark.gen_test(timeout=30)
async def test_only_holders_of_a_key_may_introspect(api: Api) -> None:
    access = (await api.signed_up_tokens())["access_token"]
    nothing = await introspect(api, access, key=None)
    assert_error(nothing, 401, "auth/admin-key-required")
    assert nothing.headers["WWW-Authenticate"] == 'Bearer realm="introspection", Basic realm="introspection"'
    wrong = await introspect(api, access, key="not-" + INTROSPECTION_KEY)
    assert_error(wrong, 401, "auth/admin-key-required")
    assert wrong.headers["WWW-Authenticate"].startswith('Bearer realm="introspection", error="invalid_token"')
    user_token = await introspect(api, access, key=access)  # a user's token is no key
    assert_error(user_token, 401, "auth/admin-key-required")
    basic = base64.b64encode(f"orders-api:{INTROSPECTION_KEY}".encode()).decode()
    as_basic = await introspect(api, access, key=None, headers={"Authorization": f"Basic {basic}"})
    assert as_basic.status == 200 and as_basic.json["active"]
    assert_error(await api.request("POST", "/oauth/introspect", body="", headers={
        **FORM, "Authorization": f"Bearer {INTROSPECTION_KEY}"}), 400, "auth/missing-field")


@pytest.mark.gen_test(timeout=30)
async def test_json_bodies_work_too(api: Api) -> None:
    access = (await api.signed_up_tokens())["access_token"]
    response = await api.post("/oauth/introspect", {"token": access},
                              headers={"Authorization": f"Bearer {INTROSPECTION_KEY}"})
    assert response.status == 200 and response.json["active"]


@pytest.mark.parametrize("settings", [{"introspection_keys": []}], indirect=True, ids=["no-keys"])
@pytest.mark.gen_test(timeout=30)
async def test_without_introspection_keys_nobody_may_introspect(api: Api, settings: dict[str, Any]) -> None:
    access = (await api.signed_up_tokens())["access_token"]
    assert_error(await introspect(api, access), 401, "auth/admin-key-required")
