"""Per-user token epochs in Redis: the instant "log out everywhere" switch.

Every token carries the epoch its user had when it was issued; a token is accepted only while its
epoch is at least the user's current one. Bumping the epoch (email or password change) therefore ends
every earlier token on the very next request, with one Redis GET per authenticated request.

MongoDB holds the durable copy (`token_epoch` on the user). Redis is a cache of it that only ever moves
up (a Lua max), so a Redis that lost its data is refilled from MongoDB instead of reviving old tokens.
Keys are `auth:{<uid>}:epoch`: the braces keep all of one user's keys in one Redis Cluster slot.
"""

from __future__ import annotations

from typing import Any

from services.infra import redis_guarded

# Set the key to max(current, ARGV[1]) and (re)arm its expiry; returns the value now stored.
_RAISE_TO = """
local current = tonumber(redis.call('GET', KEYS[1]))
local wanted = tonumber(ARGV[1])
if current == nil or current < wanted then
  current = wanted
end
redis.call('SET', KEYS[1], current, 'EX', ARGV[2])
return current
"""


class TokenEpochs:
    def __init__(self, redis: Any, ttl_seconds: int) -> None:
        """`ttl_seconds` bounds memory for idle users: MongoDB refills an expired key on demand."""
        self._redis = redis
        self._ttl = ttl_seconds
        self._raise_to = redis.register_script(_RAISE_TO)

    @staticmethod
    def key(uid: str) -> str:
        return f"auth:{{{uid}}}:epoch"

    async def cached(self, uid: str) -> int | None:
        """The epoch Redis knows, or None when it must be refilled from MongoDB."""
        value = await redis_guarded(self._redis.get(self.key(uid)))
        return int(value) if value is not None else None

    async def raise_to(self, uid: str, epoch: int) -> int:
        """Make Redis hold at least `epoch`; never lowers it, so a stale refill cannot revive tokens."""
        return int(await redis_guarded(self._raise_to(keys=[self.key(uid)], args=[epoch, self._ttl])))

    async def forget(self, uid: str) -> None:
        """Drop the cached value before a durable bump, so a failure midway falls back to MongoDB."""
        await redis_guarded(self._redis.delete(self.key(uid)))
