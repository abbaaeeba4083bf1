"""One rule for every Redis call: an unreachable Redis is a 503 with Retry-After (fail closed), never a 500.

A Redis Cluster adds ways to be unreachable: a slot whose primary is down (CLUSTERDOWN, TRYAGAIN, a slot
missing from the client's map) and no seed node answering while the client (re)reads the slot map.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

from redis.exceptions import ClusterDownError, RedisClusterException, SlotNotCoveredError, TryAgainError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from services.outcomes import ServiceUnavailable

T = TypeVar("T")
REDIS_DOWN = (RedisConnectionError, RedisTimeoutError, OSError, ClusterDownError, TryAgainError,
              SlotNotCoveredError)


def is_redis_down(exc: BaseException) -> bool:
    """Whether `exc` says Redis cannot answer now (rather than that our request was wrong, e.g. cross-slot)."""
    if isinstance(exc, REDIS_DOWN):
        return True
    # The cluster client wraps "no node reachable" and "slot map incomplete" (nodes restarting) in its base error.
    return isinstance(exc, RedisClusterException) and (
        isinstance(exc.__cause__, REDIS_DOWN) or str(exc).startswith("All slots are not covered"))


async def redis_guarded(operation: Awaitable[T]) -> T:
    try:
        return await operation
    except (*REDIS_DOWN, RedisClusterException) as exc:
        if not is_redis_down(exc):
            raise
        raise ServiceUnavailable() from exc
