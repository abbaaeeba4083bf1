"""One rule for every Redis call: an unreachable Redis is a 503 with Retry-After (fail closed), never a 500."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from services.errors import ServiceUnavailable

T = TypeVar("T")
REDIS_DOWN = (RedisConnectionError, RedisTimeoutError, OSError)


async def guarded(operation: Awaitable[T], retry_after: int) -> T:
    try:
        return await operation
    except REDIS_DOWN as exc:
        raise ServiceUnavailable(retry_after) from exc
