"""Clients for MongoDB and Redis, built from the config: real servers from URLs, or the embedded default."""

from __future__ import annotations

import asyncio
import urllib.parse
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from pymongo import AsyncMongoClient
from pymongo.errors import ConfigurationError
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ClusterDownError, SlotNotCoveredError
from redis.exceptions import ConnectionError as RedisConnectionError

from services.config import Config, ConfigError
from services.infra.embedded_redis import EmbeddedRedis
from services.infra.memory_mongo import InMemoryMongo
from services.infra.redis_guard import is_redis_down


def mongo_database(config: Config) -> Any:
    """PyMongo's `AsyncMongoClient` against `MONGO_URL`; without one, the in-memory store (same methods, same queries).

    `timeoutMS` bounds every operation as a whole (finding a server, connecting, the round trip, the wait for the
    write concern): a MongoDB that is down, or silent, answers 503 within MONGO_TIMEOUT_SECONDS. The two other
    timeouts only keep their own defaults (30 s to select, 20 s to connect) from outliving it.
    """
    if config.embedded_mongo:
        return InMemoryMongo()[config.mongo_database]
    timeout_ms = max(1, round(config.mongo_timeout_seconds * 1000))
    # Reads stay on the primary unless MONGO_READ_PREFERENCE says otherwise (docs/deployment.md: a user who just
    # signed up must be found by the login that follows); an empty MONGO_WRITE_CONCERN keeps MONGO_URL's `w=`.
    replication: dict[str, Any] = {"readPreference": config.mongo_read_preference}
    if config.mongo_write_concern:
        concern = config.mongo_write_concern
        replication["w"] = int(concern) if concern.isdigit() else concern
    try:
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
            config.mongo_url, timeoutMS=timeout_ms, serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms,
            uuidRepresentation="standard", appname="python-jwt-auth", **replication)
    except ConfigurationError as exc:  # a URL PyMongo cannot read: a setting to fix, like any other
        raise ConfigError(f"MONGO_URL: {exc}") from None
    return client.get_default_database(config.mongo_database)


def mongo_hosts(url: str) -> str:
    """Where `MONGO_URL` points, for messages: its hosts, never its credentials or options."""
    if not url:
        return "the embedded in-memory store"
    netloc = urllib.parse.urlsplit(url).netloc
    return netloc.rpartition("@")[2] or url.partition("://")[0]


# `redis+cluster://` and `rediss+cluster://` name a Redis Cluster: an explicit choice, never guessed at run time.
CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}


def redis_client(url: str, timeout: float) -> Any:
    """Short timeouts and one reconnect attempt: a dead Redis answers 503 quickly, a restarted one just works.

    Only a broken connection is retried (a Redis that restarted closed our pooled ones): a command that timed out
    is not, or a hung Redis would cost every request one REDIS_TIMEOUT_SECONDS per attempt (redis-py's default
    retries timeouts, on connecting too: measured 4 timeouts per command against a listener that never answers).
    The same holds for a cluster, whose client also follows MOVED/ASK redirects and re-reads the slot map.
    """
    options: dict[str, Any] = {
        "socket_timeout": timeout, "socket_connect_timeout": timeout, "health_check_interval": 30,
        "retry": Retry(NoBackoff(), retries=1, supported_errors=(RedisConnectionError,)),
        "decode_responses": True,
    }
    if is_cluster_url(url):
        first, seeds = cluster_seeds(url)
        return _Cluster.from_url(first, startup_nodes=[ClusterNode(host, port) for host, port in seeds], **options)
    return aioredis.Redis.from_url(url, **options)


def redis_address(url: str) -> str:
    """Where a Redis URL points, for messages: its hosts, or its socket's path; never its credentials."""
    parts = urllib.parse.urlsplit(url)
    return parts.path if parts.scheme == "unix" else parts.netloc.rpartition("@")[2]


class _Cluster(RedisCluster):
    """The cluster client retries a command by the class's own list of errors, whatever `retry` says: a timed-out
    command is not retried here either (a broken connection, a failover or a moved slot still are)."""

    ERRORS_ALLOW_RETRY = (RedisConnectionError, ClusterDownError, SlotNotCoveredError)


# Written with NX: a no-op once the key exists (nothing reaches the append-only file), but still a write command,
# which Redis refuses while it refuses writes. One key per primary of a cluster (a hash tag that lands on it).
_WRITE_PROBE = "auth:readiness:write-probe"


async def probe_writes(redis: Any) -> None:
    """Raise what Redis answers when it cannot take a write: PING alone passes while it refuses them all."""
    if not isinstance(redis, RedisCluster):
        await redis.set(_WRITE_PROBE, "1", nx=True)
        return
    if not redis.get_primaries():
        await redis.initialize()
    await asyncio.gather(*(redis.set(key, "1", nx=True) for key in _one_key_per_primary(redis)))


def _one_key_per_primary(cluster: RedisCluster) -> list[str]:
    primaries = {node.name for node in cluster.get_primaries()}
    keys: dict[str, str] = {}
    for tag in range(64 * len(primaries)):  # a few tries per primary on average; the slot map decides
        key = f"{_WRITE_PROBE}:{{{tag}}}"
        keys.setdefault(cluster.get_node_from_key(key).name, key)
        if keys.keys() >= primaries:
            break
    return list(keys.values())


def is_cluster_url(url: str) -> bool:
    return url.partition("://")[0].lower() in CLUSTER_SCHEMES


def cluster_seeds(url: str) -> tuple[str, list[tuple[str, int]]]:
    """`redis+cluster://[user:pass@]host1:port1,host2:port2[/0][?options]` as redis-py takes it: a plain URL
    of the first node (credentials and options included), and every seed node to discover the cluster from."""
    parts = urllib.parse.urlsplit(url)
    credentials, _, hosts = parts.netloc.rpartition("@")
    seeds = [_host_port(address) for address in hosts.split(",")]
    if parts.path not in ("", "/", "/0"):
        raise ConfigError("REDIS_URL: a Redis Cluster has database 0 only (drop the path or use /0)")
    first = f"{credentials}@{hosts.split(',')[0]}" if credentials else hosts.split(",")[0]
    plain = parts._replace(scheme=CLUSTER_SCHEMES[parts.scheme.lower()], netloc=first, path="")
    return urllib.parse.urlunsplit(plain), seeds


def _host_port(address: str) -> tuple[str, int]:
    host, _, port = address.strip().rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"REDIS_URL: cluster node {address!r} must be written host:port")
    return host.strip("[]"), int(port)


async def check_redis_mode(redis: Any) -> None:
    """Refuse to start with a plain client on a cluster node (keys of other nodes would fail with MOVED), or a
    cluster client on a plain server. A Redis that is down now is no reason not to start: requests get 503s."""
    try:
        if isinstance(redis, RedisCluster):
            await redis.initialize()
            return
        info = await redis.info("cluster")
    except Exception as exc:
        if is_redis_down(exc):
            return
        if isinstance(redis, RedisCluster):
            raise ConfigError(f"REDIS_URL names a Redis Cluster (redis+cluster://), but: {exc}") from exc
        raise
    if info.get("cluster_enabled"):
        raise ConfigError("REDIS_URL names a node of a Redis Cluster: write it redis+cluster://host:port "
                          "(docs/deployment.md, \"Redis Cluster\")")


def embedded_redis(config: Config) -> EmbeddedRedis:
    return EmbeddedRedis(Path(config.data_dir) / "redis")
