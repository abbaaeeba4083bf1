"""Short per-user locks in Redis, for read-check-write steps MongoDB cannot make atomic on its own.

Unlinking must never remove an account's last way to sign in. "Count the identities, then delete one" is
two steps: two unlinks at once both count two and both delete. Holding `auth:{<uid>}:identity-lock` around
the count and the delete makes the second unlink count again after the first has finished. The key carries
the `{<uid>}` hash tag like every other per-user key, so it lives in the user's Redis Cluster slot.

The lock expires on its own (`ttl_ms`), so a process that dies while holding it blocks nobody for long, and
it is released only by its holder (compare-and-delete), never by a late process whose lock had expired.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from services.infra.redis_guard import redis_guarded
from services.outcomes import ServiceUnavailable

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class UserLocks:
    def __init__(self, redis: Any, ttl_ms: int = 5000, wait_seconds: float = 3.0,
                 poll_seconds: float = 0.02) -> None:
        self._redis = redis
        self._release = redis.register_script(_RELEASE)
        self._ttl_ms = ttl_ms
        self._wait = wait_seconds
        self._poll = poll_seconds

    @staticmethod
    def key(uid: str, name: str) -> str:
        return f"auth:{{{uid}}}:{name}-lock"

    @asynccontextmanager
    async def hold(self, uid: str, name: str) -> AsyncIterator[None]:
        """Wait (briefly) for the lock, run the block, release. Still held by another after `wait_seconds`:
        503 with Retry-After, as for any backend that cannot answer in time; never run unlocked."""
        key, token = self.key(uid, name), secrets.token_hex(16)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._wait
        while not await redis_guarded(self._redis.set(key, token, nx=True, px=self._ttl_ms)):
            if loop.time() >= deadline:
                raise ServiceUnavailable("Another change to your account is in progress.")
            await asyncio.sleep(self._poll)
        try:
            yield
        finally:
            await redis_guarded(self._release(keys=[key], args=[token]))
