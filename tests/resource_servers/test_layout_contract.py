"""The Redis layout resource servers read in redis mode (docs/resource-servers.md, layout 1) is a contract: the
library's key names and readings are held here against the keys this server really writes, on a plain Redis
and on a Redis Cluster."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jwt
import jwt_auth_client
import pytest
from jwt_auth_client import AsyncRedisRevocation, AuthError, RedisLayout, TokenVerifier, errors
from jwt_auth_client.redis_mode import PUBLISHED_KEYS, epoch_key, session_key
from support.api import Api, eventually
from support.keys import delete_pair

from services.outcomes import all_outcomes
from services.resource_servers import LAYOUT_VERSION, KeyPublisher, published_keys_value
from services.resource_servers import PUBLISHED_KEYS as SERVER_PUBLISHED_KEYS
from services.sessions import SessionStore, TokenEpochs
from services.tokens import keyfiles
from services.wiring import Services

pytestmark = pytest.mark.redis_cluster_too


def claims_of(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


# The admin API's insufficient-scope speaks of an admin key's scopes; the library's is about a user's role.
OWN_WORDS = {"auth/insufficient-scope"}


def test_the_librarys_refusals_are_the_servers_own_outcomes() -> None:
    """A client app handles a resource server's refusal as one of the auth server's: same code, status, words."""
    server = {outcome.code: outcome for outcome in all_outcomes()}
    refusals = [value for value in vars(errors).values() if isinstance(value, errors.Refusal)]
    for refusal in refusals:
        if refusal.code in server:
            assert refusal.status == server[refusal.code].status, refusal.code
            if refusal.code not in OWN_WORDS:
                assert refusal.message == server[refusal.code].message, refusal.code
    # Codes the server may not define yet: they come with second factors (issue 15) and the admin API (issue 17).
    assert {refusal.code for refusal in refusals} - set(server) <= {"auth/mfa-required", "auth/insufficient-scope"}


def test_the_library_and_the_server_name_the_same_keys() -> None:
    uid, sid = "0b7c2a4e-8f1d-4c3a-9e2b-5d6f7a8b9c0d", "a" * 32
    assert epoch_key(uid) == TokenEpochs.key(uid)
    assert session_key(uid, sid) == SessionStore.key(uid, sid)
    assert (PUBLISHED_KEYS, jwt_auth_client.LAYOUT_VERSION) == (SERVER_PUBLISHED_KEYS, LAYOUT_VERSION)


@pytest.mark.gen_test(timeout=30)
async def test_after_a_login_the_three_keys_the_library_reads_are_there(api: Api, services: Services) -> None:
    redis = services.redis
    access = (await api.signed_up_tokens())["access_token"]
    claims = claims_of(access)
    epoch = await redis.get(epoch_key(claims["sub"]))
    assert epoch is not None and int(epoch) == claims["epoch"]  # written at the login itself
    assert await redis.exists(session_key(claims["sub"], claims["sid"]))
    published = json.loads(await redis.get(PUBLISHED_KEYS))
    assert published == {"layout": 1, "kids": sorted(services.tokens.keyring.keys)}


@pytest.mark.gen_test(timeout=30)
async def test_a_new_login_is_live_in_redis_mode_before_the_user_calls_the_auth_server_again(
        api: Api, redis_url: str, base_url: str, config: Any) -> None:
    """A mobile app logs in, then calls the team's API first: the epoch key must already be there."""
    access = (await api.signed_up_tokens())["access_token"]
    verifier = TokenVerifier(config.jwt_issuer, config.jwt_audience,
                             base_url.replace("localhost", "127.0.0.1") + "/.well-known/jwks.json")
    revocation = AsyncRedisRevocation.from_url(redis_url)
    try:
        await revocation.check(await verifier.verify_async(access))
    finally:
        await revocation.aclose()


@pytest.mark.gen_test(timeout=30)
async def test_the_published_keys_follow_the_ring(services: Services, keys_dir: Path) -> None:
    redis = services.redis

    async def published() -> list[str]:
        raw = await redis.get(PUBLISHED_KEYS)
        return json.loads(raw)["kids"] if raw else []

    first = sorted(services.tokens.keyring.keys)
    assert await published() == first
    second = keyfiles.generate(keys_dir, "EdDSA")

    async def both_listed() -> bool:
        return await published() == sorted([*first, second])

    assert await eventually(both_listed)
    delete_pair(keys_dir, first[0])

    async def only_the_second() -> bool:
        return await published() == [second]

    assert await eventually(only_the_second)
    await redis.delete(PUBLISHED_KEYS)  # a Redis that lost its data gets the list back within a round
    assert await eventually(only_the_second)


@pytest.mark.gen_test(timeout=30)
async def test_a_process_that_reloads_a_moment_later_never_undoes_a_newer_list(services: Services) -> None:
    redis = services.redis
    await services.tokens.keyring.stop_watching()  # only this publisher writes from here on
    publisher = KeyPublisher(redis=redis)
    await publisher.keys_loaded(frozenset({"new"}), changed=True)
    await publisher.keys_loaded(frozenset({"old", "new"}), changed=False)  # another process, not reloaded yet
    assert await redis.get(PUBLISHED_KEYS) == published_keys_value(frozenset({"new"}))


@pytest.mark.standalone_redis_only
@pytest.mark.gen_test(timeout=30)
async def test_a_change_that_could_not_be_published_is_written_once_redis_is_back(own_redis: Any) -> None:
    from services.infra import redis_client

    client = redis_client(own_redis.url, 0.5)
    publisher = KeyPublisher(redis=client)
    await client.set(PUBLISHED_KEYS, published_keys_value(frozenset({"old"})))
    own_redis.stop()
    await publisher.keys_loaded(frozenset({"new"}), changed=True)  # logged, not raised: the ring goes on
    own_redis.start()
    await publisher.keys_loaded(frozenset({"new"}), changed=False)
    assert await client.get(PUBLISHED_KEYS) == published_keys_value(frozenset({"new"}))
    await client.aclose()


def test_the_library_reads_what_the_server_publishes() -> None:
    value = published_keys_value(frozenset({"k1", "k2"}))
    listed, dropped = (SimpleNamespace(key_id=kid, epoch=1, subject="u") for kid in ("k2", "k3"))
    assert RedisLayout().judge(listed, ["1", "{}", value]) is True  # type: ignore[arg-type]
    with pytest.raises(AuthError) as caught:
        RedisLayout().judge(dropped, ["1", "{}", value])  # type: ignore[arg-type]
    assert caught.value.code == "auth/token-invalid"
