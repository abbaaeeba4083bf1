"""Redis clients made for redis mode: short timeouts and one reconnect attempt, as the auth server's own, so a dead
Redis answers 503 fast and a restarted one just works. `redis+cluster://host1:port1,host2:port2` names a Redis
Cluster, as the auth server's REDIS_URL does."""

from __future__ import annotations

import urllib.parse
from typing import Any

CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}


def _options(timeout: float, retry_class: Any) -> dict[str, Any]:
    from redis.backoff import NoBackoff
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    return {"socket_timeout": timeout, "socket_connect_timeout": timeout, "decode_responses": True,
            "retry": retry_class(NoBackoff(), retries=1), "retry_on_error": [RedisConnectionError, RedisTimeoutError]}


def _cluster_parts(url: str) -> tuple[str, list[tuple[str, int]]]:
    parts = urllib.parse.urlsplit(url)
    credentials, _, hosts = parts.netloc.rpartition("@")
    seeds = []
    for address in hosts.split(","):
        host, _, port = address.strip().rpartition(":")
        seeds.append((host.strip("[]"), int(port)))
    first = f"{credentials}@{hosts.split(',')[0]}" if credentials else hosts.split(",")[0]
    plain = parts._replace(scheme=CLUSTER_SCHEMES[parts.scheme.lower()], netloc=first, path="")
    return urllib.parse.urlunsplit(plain), seeds


def _is_cluster(url: str) -> bool:
    return url.partition("://")[0].lower() in CLUSTER_SCHEMES


def sync_client(url: str, timeout: float) -> Any:
    import redis
    import redis.cluster
    import redis.retry

    return _client(url, timeout, redis.Redis, redis.cluster, redis.retry.Retry)


def async_client(url: str, timeout: float) -> Any:
    import redis.asyncio
    import redis.asyncio.cluster
    import redis.asyncio.retry

    return _client(url, timeout, redis.asyncio.Redis, redis.asyncio.cluster, redis.asyncio.retry.Retry)


def _client(url: str, timeout: float, plain: Any, cluster: Any, retry_class: Any) -> Any:
    """The same options for redis-py's threaded and asyncio clients, which mirror each other class for class."""
    options = _options(timeout, retry_class)
    if _is_cluster(url):
        first, seeds = _cluster_parts(url)
        nodes = [cluster.ClusterNode(host, port) for host, port in seeds]
        return cluster.RedisCluster.from_url(first, startup_nodes=nodes, **options)
    return plain.from_url(url, **options)
