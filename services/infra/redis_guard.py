"""One rule for every Redis call: a Redis that cannot serve us now is a 503 with Retry-After (fail closed), never a
500.

Two kinds of "cannot serve now". Unreachable: down, hung past REDIS_TIMEOUT_SECONDS, or a Redis Cluster with a
slot whose primary is down (CLUSTERDOWN, TRYAGAIN, a slot missing from the client's map, no seed node answering).
Refusing writes while it answers reads and PING: out of memory under `maxmemory-policy noeviction` (OOM), a
snapshot or append-only file it cannot write (MISCONF: a full disk), a replica since a failover (READONLY), or
too few replicas for `min-replicas-to-write` (NOREPLICAS). Each passes once Redis recovers, with no restart here.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable
from typing import TypeVar

from redis.exceptions import (
    ClusterDownError,
    OutOfMemoryError,
    ReadOnlyError,
    RedisClusterException,
    ResponseError,
    SlotNotCoveredError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from services.outcomes import ServiceUnavailable

T = TypeVar("T")
REDIS_DOWN = (RedisConnectionError, RedisTimeoutError, OSError, ClusterDownError, TryAgainError,
              SlotNotCoveredError)
# Redis's own error codes for a refused write. redis-py maps OOM and READONLY to classes when it sees them first;
# inside a Lua script (`Error running script ...: -OOM command not allowed ...`) or a pipeline's summary they stay
# text, so the code is also looked for where Redis puts it: first, or after the `-` of an embedded error reply.
_REFUSED_WRITE = re.compile(r"(?:^|[-('])(?:OOM|MISCONF|READONLY|NOREPLICAS) ")


def is_refusing_writes(exc: BaseException) -> bool:
    """Whether `exc` says Redis is up but refuses writes for now (memory, disk, a replica, replicas missing)."""
    if isinstance(exc, OutOfMemoryError | ReadOnlyError):
        return True
    return isinstance(exc, ResponseError) and bool(_REFUSED_WRITE.search(str(exc)))


def is_redis_down(exc: BaseException) -> bool:
    """Whether `exc` says Redis cannot serve us now (rather than that our request was wrong, e.g. cross-slot)."""
    if isinstance(exc, REDIS_DOWN) or is_refusing_writes(exc):
        return True
    # The cluster client wraps "no node reachable" and "slot map incomplete" (nodes restarting) in its base error.
    return isinstance(exc, RedisClusterException) and (
        isinstance(exc.__cause__, REDIS_DOWN) or str(exc).startswith("All slots are not covered"))


async def redis_guarded(operation: Awaitable[T]) -> T:
    try:
        return await operation
    except (*REDIS_DOWN, ResponseError, RedisClusterException) as exc:
        if not is_redis_down(exc):
            raise
        raise ServiceUnavailable() from exc
