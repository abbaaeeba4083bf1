"""Issue 18: "log out everywhere" is true everywhere. A resource app of each framework (Tornado, FastAPI, Flask),
using jwt_auth_client in each mode (redis, introspection), refuses an old token on its very next request after
the auth server ended it: `POST /logout/all`, a password change, `users disable`, a deleted signing key. Forged
and expired tokens are refused; the requirements (fresh, role, aal) answer the server's codes."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import jwt
import pytest
import tornado.httpclient
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from support.api import EMAIL, PASSWORD, Api, assert_error, eventually, login_tokens
from support.keys import delete_pair
from support.resource_apps import FRAMEWORKS, MODES

from commands.users import run_users_command
from services.wiring import Services

APPS = [pytest.param(framework, mode, id=f"{framework}-{mode}") for framework in FRAMEWORKS for mode in MODES]


async def log_out_everywhere(api: Api, tokens: dict[str, str], services: Services, keys_dir: Path) -> None:
    assert (await api.post("/logout/all", token=tokens["access_token"])).status == 200


async def change_password(api: Api, tokens: dict[str, str], services: Services, keys_dir: Path) -> None:
    fresh = await login_tokens(api, fresh=True)
    changed = await api.patch("/user", {"password": PASSWORD + "!"}, token=fresh["access_token"])
    assert changed.status == 200, changed.body


async def disable_the_user(api: Api, tokens: dict[str, str], services: Services, keys_dir: Path) -> None:
    assert await run_users_command(services, "disable", EMAIL) == 0  # `python server.py users disable`


async def delete_the_signing_key(api: Api, tokens: dict[str, str], services: Services, keys_dir: Path) -> None:
    kid = jwt.get_unverified_header(tokens["access_token"])["kid"]
    delete_pair(keys_dir, kid)

    async def the_auth_server_refuses() -> bool:
        return (await api.get("/user", token=tokens["access_token"])).status == 401

    assert await eventually(the_auth_server_refuses)


EVENTS = {"logout-all": log_out_everywhere, "password-change": change_password, "disable": disable_the_user,
          "key-deletion": delete_the_signing_key}


def resource_api(http_client: tornado.httpclient.AsyncHTTPClient, app: Any) -> Api:
    return Api(http_client, app.url)


@pytest.mark.gen_test(timeout=60)
@pytest.mark.parametrize("event", list(EVENTS))
@pytest.mark.parametrize(("framework", "mode"), APPS)
async def test_the_old_token_is_refused_on_the_very_next_request(
        api: Api, http_client: Any, start_resource_app: Any, services: Services, keys_dir: Path,
        framework: str, mode: str, event: str) -> None:
    resource = resource_api(http_client, start_resource_app(framework, mode))
    tokens = await api.signed_up_tokens()
    allowed = await resource.get("/resource", token=tokens["access_token"])
    assert allowed.status == 200, allowed.body
    assert allowed.json["uid"] == (await api.get("/user", token=tokens["access_token"])).json["uid"]
    await EVENTS[event](api, tokens, services, keys_dir)
    refused = await resource.get("/resource", token=tokens["access_token"])
    # A key the auth server dropped makes its tokens invalid in redis mode; introspection just says "inactive".
    code = "auth/token-invalid" if (event, mode) == ("key-deletion", "redis") else "auth/token-revoked"
    assert_error(refused, 401, code)
    assert refused.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')


@pytest.mark.gen_test(timeout=60)
@pytest.mark.parametrize(("framework", "mode"), APPS)
async def test_forged_and_expired_tokens_are_refused(api: Api, http_client: Any, start_resource_app: Any,
                                                     keys_dir: Path, framework: str, mode: str) -> None:
    resource = resource_api(http_client, start_resource_app(framework, mode))
    real = (await api.signed_up_tokens())["access_token"]
    header = {name: value for name, value in jwt.get_unverified_header(real).items() if name != "alg"}
    claims = jwt.decode(real, options={"verify_signature": False})
    impostor = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(claims, impostor, algorithm="RS256", headers=header)
    assert_error(await resource.get("/resource", token=forged), 401, "auth/token-invalid")
    unsigned = jwt.encode(claims, None, algorithm="none", headers=header)
    assert_error(await resource.get("/resource", token=unsigned), 401, "auth/token-invalid")
    ours = serialization.load_pem_private_key((keys_dir / f"{header['kid']}.key").read_bytes(), password=None)
    now = int(time.time())
    expired = jwt.encode({**claims, "iat": now - 1000, "nbf": now - 1000, "exp": now - 100}, ours,
                         algorithm="RS256", headers=header)
    assert_error(await resource.get("/resource", token=expired), 401, "auth/token-expired")
    missing = await resource.get("/resource")
    assert_error(missing, 401, "auth/token-missing")
    assert missing.headers["WWW-Authenticate"] == "Bearer"
    assert (await resource.get("/resource", token=real)).status == 200  # the real one still works


@pytest.mark.gen_test(timeout=60)
@pytest.mark.parametrize(("framework", "mode"), APPS)
async def test_requirements_answer_the_servers_codes(api: Api, http_client: Any, start_resource_app: Any,
                                                     framework: str, mode: str) -> None:
    resource = resource_api(http_client, start_resource_app(framework, mode))
    tokens = await api.signed_up_tokens()
    assert_error(await resource.get("/fresh", token=tokens["access_token"]), 401, "auth/fresh-token-required")
    assert_error(await resource.get("/admin", token=tokens["access_token"]), 403, "auth/insufficient-scope")
    assert_error(await resource.get("/mfa", token=tokens["access_token"]), 403, "auth/mfa-required")
    fresh = await login_tokens(api, fresh=True)
    assert (await resource.get("/fresh", token=fresh["access_token"])).status == 200
    # The Authorization header works as well as the seed's python-auth.
    bearer = await resource.get("/resource", headers={"Authorization": f"Bearer {fresh['access_token']}"})
    assert bearer.status == 200, bearer.body


@pytest.mark.redis_cluster_too
@pytest.mark.gen_test(timeout=60)
@pytest.mark.parametrize("framework", ["tornado", "flask"])  # the asyncio and the threaded cluster client
async def test_redis_mode_reads_a_redis_cluster_in_one_round_trip(api: Api, http_client: Any, start_resource_app: Any,
                                                                 services: Services, keys_dir: Path,
                                                                 framework: str) -> None:
    resource = resource_api(http_client, start_resource_app(framework, "redis"))
    tokens = await api.signed_up_tokens()
    assert (await resource.get("/resource", token=tokens["access_token"])).status == 200
    await log_out_everywhere(api, tokens, services, keys_dir)
    assert_error(await resource.get("/resource", token=tokens["access_token"]), 401, "auth/token-revoked")


@pytest.mark.gen_test(timeout=60)
async def test_jwt_only_mode_is_blind_to_revocation_by_design(api: Api, http_client: Any, start_resource_app: Any,
                                                             services: Services, keys_dir: Path) -> None:
    """What the two modes are for: with signatures and claims alone, a logged-out token works until it expires."""
    resource = resource_api(http_client, start_resource_app("tornado", "jwt"))
    tokens = await api.signed_up_tokens()
    await log_out_everywhere(api, tokens, services, keys_dir)
    assert (await resource.get("/resource", token=tokens["access_token"])).status == 200
