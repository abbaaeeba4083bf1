"""When Redis cannot answer, nobody is told a token is fine: a resource app in redis mode answers 503, the auth
server's introspection answers 503 (never "inactive", which a client takes for a logout), and revocation answers
503 (never a success that ended nothing). All of them work again once Redis is back."""

from __future__ import annotations

from typing import Any

import pytest
from support.api import Api, assert_error, eventually
from support.resource_apps import FRAMEWORKS, INTROSPECTION_KEY

from services.infra import EmbeddedRedis


@pytest.fixture
def settings(own_redis: EmbeddedRedis) -> dict[str, Any]:
    """The auth server and the resource apps share a Redis of this test's own, to stop and start."""
    return {"introspection_keys": [INTROSPECTION_KEY], "redis_url": own_redis.url}


def assert_unavailable(response: Any) -> None:
    assert_error(response, 503, "auth/unavailable")
    assert int(response.headers["Retry-After"]) >= 1


@pytest.mark.gen_test(timeout=60)
@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_redis_down_in_redis_mode_is_503_never_allowed(api: Api, http_client: Any, start_resource_app: Any,
                                                            own_redis: EmbeddedRedis, framework: str) -> None:
    resource = Api(http_client, start_resource_app(framework, "redis").url)
    access = (await api.signed_up_tokens())["access_token"]
    assert (await resource.get("/resource", token=access)).status == 200
    own_redis.stop()
    assert_unavailable(await resource.get("/resource", token=access))
    assert_unavailable(await resource.get("/resource", token=access))  # and again: nothing was remembered
    own_redis.start()

    async def served_again() -> bool:
        return (await resource.get("/resource", token=access)).status == 200

    assert await eventually(served_again, within=10)


@pytest.mark.gen_test(timeout=60)
@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_introspection_while_redis_is_down_is_503_not_inactive(api: Api, http_client: Any,
                                                                     start_resource_app: Any,
                                                                     own_redis: EmbeddedRedis, framework: str) -> None:
    resource = Api(http_client, start_resource_app(framework, "introspection").url)
    access = (await api.signed_up_tokens())["access_token"]
    assert (await resource.get("/resource", token=access)).status == 200
    own_redis.stop()
    asked = await api.post("/oauth/introspect", {"token": access},
                           headers={"Authorization": f"Bearer {INTROSPECTION_KEY}"})
    assert_unavailable(asked)
    assert_unavailable(await resource.get("/resource", token=access))


@pytest.mark.gen_test(timeout=60)
async def test_revocation_while_redis_is_down_is_503_not_a_success(api: Api, own_redis: EmbeddedRedis) -> None:
    tokens = await api.signed_up_tokens()
    own_redis.stop()
    assert_unavailable(await api.post("/oauth/revoke", {"token": tokens["refresh_token"]}))
    own_redis.start()

    async def revoked_now() -> bool:
        return (await api.post("/oauth/revoke", {"token": tokens["refresh_token"]})).status == 200

    assert await eventually(revoked_now, within=10)
    assert_error(await api.get("/user", token=tokens["access_token"]), 401, "auth/token-revoked")
