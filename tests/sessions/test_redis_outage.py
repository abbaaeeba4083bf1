"""Redis down: token endpoints fail closed with 503 and recover by themselves; public endpoints keep working.

The app here talks to its own redis-server on its own TCP port, so stopping it touches no other test.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from support.api import Api

from services.infra import EmbeddedRedis
from services.sessions import TokenEpochs

UNAVAILABLE = "auth/unavailable"


@pytest.fixture
def settings(own_redis: EmbeddedRedis) -> dict[str, Any]:
    return {"redis_url": own_redis.url, "redis_timeout_seconds": 0.5, "unavailable_retry_after": 7}


async def token_requests(api: Api, tokens: dict[str, str]) -> dict[str, Any]:
    """The requests that need Redis: an authenticated read, a login and a refresh."""
    return {
        "GET /user": await api.get("/user", token=tokens["access_token"]),
        "POST /login": await api.login(),
        "GET /refresh": await api.get("/refresh", body=json.dumps({"token": tokens["refresh_token"]})),
    }


async def public_requests(api: Api) -> dict[str, Any]:
    return {path: await api.get(path) for path in ("/", "/settings", "/settings/keys")}


@pytest.mark.gen_test(timeout=30)
async def test_redis_down_fails_closed_and_recovers_without_a_restart(api: Api, own_redis: EmbeddedRedis,
                                                                      services: Any) -> None:
    tokens = await api.signed_up_tokens()
    assert {name: r.status for name, r in (await token_requests(api, tokens)).items()} == dict.fromkeys(
        ("GET /user", "POST /login", "GET /refresh"), 200)

    own_redis.stop()
    for name, response in (await token_requests(api, tokens)).items():
        assert response.status == 503, (name, response.status, response.body)
        assert response.json["code"] == UNAVAILABLE, name
        assert response.headers.get("Retry-After") == "7", name
    for path, response in (await public_requests(api)).items():
        assert response.status == 200, (path, response.body)
    assert services.tokens.keyring.signing_key is not None

    own_redis.start()
    for name, response in (await token_requests(api, tokens)).items():
        assert response.status == 200, (name, response.status, response.body)
    assert (await api.get("/user", token=(await api.login()).json["tokens"]["access_token"])).status == 200


@pytest.mark.gen_test(timeout=30)
async def test_signup_while_redis_is_down_never_answers_500(api: Api, own_redis: EmbeddedRedis) -> None:
    own_redis.stop()
    response = await api.signup(email="down@quazi.co")
    assert response.status in (200, 503), response.body
    if response.status == 503:
        assert response.json["code"] == UNAVAILABLE
        assert "Retry-After" in response.headers


async def end_every_token(api: Api, token: str) -> None:
    """Raise the user's epoch (an address change does so only once confirmed, tests/accounts/test_email_change.py)."""
    response = await api.post("/logout/all", token=token)
    assert response.status == 200, response.body


@pytest.mark.gen_test(timeout=30)
async def test_a_revoked_token_stays_revoked_after_redis_loses_its_data(api: Api, services: Any) -> None:
    tokens = await api.signed_up_tokens()
    await end_every_token(api, tokens["access_token"])
    revoked = await api.get("/user", token=tokens["access_token"])
    assert (revoked.status, revoked.json["code"]) == (401, "auth/token-revoked")

    await services.redis.flushall()
    for response in (await api.get("/user", token=tokens["access_token"]),
                     await api.get(f"/refresh?token={tokens['refresh_token']}")):
        assert (response.status, response.json["code"]) == (401, "auth/token-revoked"), response.body
    fresh = (await api.login()).json["tokens"]["access_token"]
    assert (await api.get("/user", token=fresh)).status == 200
    # MongoDB's durable epoch refilled the cache.
    uid = (await services.users.find_by_email("omar@quazi.co")).uid
    assert await services.redis.get(TokenEpochs.key(uid)) == "1"


@pytest.mark.gen_test(timeout=30)
async def test_a_revoked_token_stays_revoked_after_a_redis_restart_without_persistence(
        api: Api, own_redis: EmbeddedRedis) -> None:
    tokens = await api.signed_up_tokens()
    await end_every_token(api, tokens["access_token"])
    own_redis.stop()
    own_redis.persistent = False  # it comes back without its append-only file: empty
    own_redis.start()
    response = await api.get("/user", token=tokens["access_token"])
    assert (response.status, response.json["code"]) == (401, "auth/token-revoked")


@pytest.mark.gen_test(timeout=30)
async def test_a_stale_lower_epoch_in_redis_does_not_revive_old_tokens(api: Api, services: Any) -> None:
    tokens = await api.signed_up_tokens()
    await end_every_token(api, tokens["access_token"])
    uid = (await services.users.find_by_email("omar@quazi.co")).uid
    await services.redis.set(TokenEpochs.key(uid), 0)  # e.g. an old replica promoted after a failover
    response = await api.get("/user", token=tokens["access_token"])
    assert (response.status, response.json["code"]) == (401, "auth/token-revoked")
