"""Redis Cluster: keys used together share a hash slot, the client is picked by the URL, a dead cluster
fails closed and comes back by itself, and an authenticated request still costs one command.

The session, refresh and rate-limit modules run whole against the cluster too (`redis_cluster_too`), and so do
the epoch tests: password and email changes, disabled and deleted accounts (marked one by one).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio.cluster import RedisCluster
from redis.crc import key_slot
from support.api import Api
from support.cluster import RedisClusterServers
from support.processes import free_port

from services.config import ConfigError
from services.infra import EmbeddedRedis, QueueKeys, UserLocks
from services.infra.backends import check_redis_mode, cluster_seeds, redis_client
from services.limits.limiter import subject_key
from services.limits.login_failures import RULE, failure_keys
from services.sessions import SessionPolicy, SessionStore, TokenEpochs
from services.tokens import ActionTokenStore, Assurance


def slots(*keys: str) -> set[int]:
    return {key_slot(key.encode()) for key in keys}


# --- one hash slot per operation ------------------------------------------------------------------------


@pytest.mark.parametrize("uid", [str(uuid.uuid4()) for _ in range(5)] + ["x", "{}"])
def test_every_key_of_one_user_shares_the_users_slot(uid: str) -> None:
    """MGET(epoch, session), the rotation script (session, index), the session pipelines, and forget_user's
    scan of one node all rely on this."""
    sid = uuid.uuid4().hex
    user_keys = (TokenEpochs.key(uid), SessionStore.key(uid, sid), SessionStore.key(uid, "other"),
                 SessionStore.index_key(uid), ActionTokenStore.key(uid, "verify"), ActionTokenStore.key(uid, "reset"),
                 UserLocks.key(uid, "identity"))
    assert len(slots(*user_keys)) == 1, user_keys
    assert all(key.startswith(f"auth:{{{uid}}}:") for key in user_keys)  # what forget_user's pattern matches


def test_users_spread_over_slots() -> None:
    """The tag is the uid, not a constant: users are spread over the cluster, not piled on one node."""
    assert len(slots(*(TokenEpochs.key(str(uuid.uuid4())) for _ in range(50)))) > 40


def test_the_mail_queue_keys_share_one_slot() -> None:
    mail = QueueKeys.of("mail")
    assert len(slots(mail.queue, mail.messages, mail.attempts, mail.dead)) == 1


def test_rate_limit_keys_are_spread_by_rule_and_subject() -> None:
    keys = [subject_key(rule, f"203.0.113.{n}") for rule in ("signup", "token") for n in range(20)]
    assert len(slots(*keys)) > 30


def test_the_failed_login_counts_of_one_account_share_its_slot() -> None:
    """The reservation script checks and counts an account overall and from one network in one step."""
    for account in ("omar@quazi.co", "eve@quazi.co"):
        keys = [key for network in ("203.0.113.7", "2001:db8::/64") for key in failure_keys(RULE, account, network)]
        assert len(slots(*keys)) == 1, keys
    assert len(slots(*(failure_keys(RULE, f"user{n}@quazi.co", "net")[0] for n in range(50)))) > 40


# --- which client the URL makes ---------------------------------------------------------------------------


def test_cluster_url_lists_every_seed_and_keeps_credentials_and_options() -> None:
    first, seeds = cluster_seeds("rediss+cluster://user:p%40ss@10.0.0.1:7000,10.0.0.2:7001,[::1]:7002/0?ssl_cert_reqs=none")
    assert first == "rediss://user:p%40ss@10.0.0.1:7000?ssl_cert_reqs=none"
    assert seeds == [("10.0.0.1", 7000), ("10.0.0.2", 7001), ("::1", 7002)]


@pytest.mark.parametrize("url", ["redis+cluster://10.0.0.1:7000/2", "redis+cluster://10.0.0.1", "redis+cluster://a:1,b"])
def test_bad_cluster_urls_are_configuration_errors(url: str) -> None:
    with pytest.raises(ConfigError, match="REDIS_URL"):
        cluster_seeds(url)


@pytest.mark.gen_test(timeout=30)
async def test_a_plain_url_on_a_cluster_node_is_refused_at_start(redis_cluster: RedisClusterServers) -> None:
    plain = redis_client(f"redis://127.0.0.1:{redis_cluster.ports[0]}/0", 1.0)
    with pytest.raises(ConfigError, match=r"redis\+cluster://"):
        await check_redis_mode(plain)
    await plain.aclose()
    cluster = redis_client(redis_cluster.url, 1.0)
    assert isinstance(cluster, RedisCluster)
    await check_redis_mode(cluster)
    await cluster.aclose()


@pytest.mark.gen_test(timeout=30)
async def test_a_cluster_url_on_a_plain_server_is_refused_at_start(redis_server: EmbeddedRedis) -> None:
    client = redis_client(f"redis+cluster://127.0.0.1:{redis_server.port}", 1.0)
    with pytest.raises(ConfigError, match="Cluster mode is not enabled"):
        await check_redis_mode(client)
    await client.aclose()


@pytest.mark.gen_test(timeout=30)
async def test_a_dead_redis_at_start_is_no_reason_to_refuse(tmp_path: Path) -> None:
    for url in (f"redis://127.0.0.1:{free_port()}/0", f"redis+cluster://127.0.0.1:{free_port()}"):
        client = redis_client(url, 0.2)
        await check_redis_mode(client)
        await client.aclose()


# --- the store on its own, against the cluster ---------------------------------------------------------------


@pytest.fixture
def cluster(redis_cluster: RedisClusterServers, io_loop: Any) -> Iterator[Any]:
    client = redis_client(redis_cluster.url, 1.0)
    io_loop.run_sync(client.flushdb)
    yield client
    io_loop.run_sync(client.aclose)


async def all_keys(client: Any) -> set[str]:
    return {key async for key in client.scan_iter()}


@pytest.mark.gen_test(timeout=30)
async def test_revoke_everyone_reaches_every_primary(cluster: Any) -> None:
    store = SessionStore(cluster, SessionPolicy(refresh_lifetime=60))
    # Four users on each primary: twelve random ones miss a primary in about 1 run of 40 ((2/3)^12, three times).
    by_node: dict[str, list[str]] = {}
    while len(by_node) < 3 or any(len(found) < 4 for found in by_node.values()):
        uid = str(uuid.uuid4())
        found = by_node.setdefault(cluster.get_node_from_key(SessionStore.index_key(uid)).name, [])
        if len(found) < 4:
            found.append(uid)
    uids = [uid for found in by_node.values() for uid in found]
    for uid in uids:
        await store.create(uid, uuid.uuid4().hex, "jti", "203.0.113.7", "test", Assurance.single("pwd"))
        await cluster.set(TokenEpochs.key(uid), 1)
    nodes = {cluster.get_node_from_key(SessionStore.index_key(uid)).name for uid in uids}
    assert len(nodes) == 3
    assert await store.revoke_everyone(batch=5) == 12
    assert await all_keys(cluster) == {TokenEpochs.key(uid) for uid in uids}  # epochs stay: they only go up


@pytest.mark.gen_test(timeout=30)
async def test_forget_user_deletes_that_users_keys_only(cluster: Any) -> None:
    store, gone, kept = SessionStore(cluster, SessionPolicy(refresh_lifetime=60)), str(uuid.uuid4()), str(uuid.uuid4())
    for uid in (gone, kept):
        await store.create(uid, uuid.uuid4().hex, "jti", "203.0.113.7", "test", Assurance.single("pwd"))
        await cluster.set(TokenEpochs.key(uid), 1)
        await cluster.hset(ActionTokenStore.key(uid, "reset"), "hash", "x")
    await store.forget_user(gone)
    assert not any(gone in key for key in await all_keys(cluster))
    assert len([key for key in await all_keys(cluster) if kept in key]) == 4


# --- through HTTP ---------------------------------------------------------------------------------------------


async def command_counts(redis_cluster: RedisClusterServers) -> dict[str, int]:
    """Calls per command since the last reset, summed over every primary. Left out: the mail worker's polls
    (EVALSHA) and what this probe's own connections send (HELLO, CLIENT SETINFO, PING, INFO)."""
    counts: dict[str, int] = {}
    for port in redis_cluster.ports:
        node = redis_client(f"redis://127.0.0.1:{port}/0", 1.0)
        for name, stats in (await node.info("commandstats")).items():
            command = name.removeprefix("cmdstat_")
            if command not in {"evalsha", "info", "config", "hello", "client", "ping"}:
                counts[command] = counts.get(command, 0) + int(stats["calls"])
        await node.aclose()
    return counts


@pytest.fixture
def settings(request: pytest.FixtureRequest, redis_cluster: RedisClusterServers) -> dict[str, Any]:
    """The app on the session's cluster, or with `own_cluster=True` on a cluster of the test alone."""
    overrides = dict(getattr(request, "param", {}))
    cluster = request.getfixturevalue("own_cluster") if overrides.pop("own_cluster", False) else redis_cluster
    return {"redis_url": cluster.url, **overrides}


@pytest.mark.gen_test(timeout=30)
async def test_an_authenticated_request_costs_one_mget_on_the_cluster(api: Api,
                                                                      redis_cluster: RedisClusterServers) -> None:
    tokens = await api.signed_up_tokens()
    assert (await api.get("/user", token=tokens["access_token"])).status == 200  # the epoch is cached now
    for port in redis_cluster.ports:
        node = redis_client(f"redis://127.0.0.1:{port}/0", 1.0)
        await node.config_resetstat()
        await node.aclose()
    assert (await api.get("/user", token=tokens["access_token"])).status == 200
    assert await command_counts(redis_cluster) == {"mget": 1}


@pytest.fixture
def own_cluster(tmp_path: Path) -> Iterator[RedisClusterServers]:
    """A cluster of this test alone, so stopping it touches no other test; persistent, as sessions need."""
    cluster = RedisClusterServers(tmp_path / "own-cluster", persistent=True)
    cluster.start()
    yield cluster
    cluster.stop()


@pytest.mark.gen_test(timeout=60)
@pytest.mark.parametrize("settings", [{"own_cluster": True, "redis_timeout_seconds": 0.5,
                                       "unavailable_retry_after": 7}],
                         indirect=True)
async def test_a_dead_cluster_fails_closed_and_recovers_without_a_restart(
        api: Api, own_cluster: RedisClusterServers, settings: dict[str, Any], services: Any) -> None:
    assert services.config.redis_url == own_cluster.url
    tokens = await api.signed_up_tokens()
    assert (await api.get("/user", token=tokens["access_token"])).status == 200

    own_cluster.stop()
    for response in (await api.get("/user", token=tokens["access_token"]), await api.login(),
                     await api.post("/refresh", {"token": tokens["refresh_token"]})):
        assert response.status == 503, response.body
        assert response.json["code"] == "auth/unavailable"
        assert response.headers["Retry-After"] == "7"
    assert (await api.get("/")).status == 200

    own_cluster.start()
    assert (await api.get("/user", token=tokens["access_token"])).status == 200
    refreshed = await api.post("/refresh", {"token": tokens["refresh_token"]})
    assert refreshed.status == 200, refreshed.body
