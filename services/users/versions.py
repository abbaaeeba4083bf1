"""Each user's document version in Redis: what lets every process keep users in memory and still see every change
made through any other process on its very next request.

The version (`auth:{<uid>}:user`) is read in the same MGET as the token's epoch and session
(services/sessions/store.py), so checking it costs no round trip. A process serves a user from memory only while
the version it read *before* reading that copy of the document is still the one in Redis (services/users/cache.py).
The writer's side, in every write method of UserStore:

1. mark the version pending (`~` and a random part) before the MongoDB write: while it is pending no process keeps
   a copy, so a reader that reads the document between the mark and the write keeps nothing;
2. write MongoDB;
3. settle the version to a new random value, whatever the write's outcome (a write that reported a failure may
   have landed): every copy read before it stops matching. A write that finds another write's mark leaves it for
   that write to settle. If the settle cannot reach Redis, the mark stays until PENDING and nobody keeps a copy.

Values are random, never counters, so a Redis that lost its data and starts over cannot hand out a value some
process still holds with an old copy. A missing version (lost data, an idle user's key that expired, a user no
write has touched since) is set by the reader (SET NX) before it reads the document: the store is read, never a
stale copy served. Keys share the user's `{<uid>}` hash tag: one Redis Cluster slot with the epoch and sessions,
and a deleted user's key goes with the rest of them (SessionStore.forget_user).
"""

from __future__ import annotations

import secrets
from typing import Any

from services.infra import redis_guarded

PENDING_MARK = "~"

# KEYS: the version. ARGV: this write's pending mark, the new version, its TTL. Another write's mark is left for
# that write to settle (it is still on its way); anything else, ours or a settled value, becomes the new version.
_SETTLE = """
local current = redis.call('GET', KEYS[1])
if current and string.sub(current, 1, 1) == '~' and current ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1
"""


class UserVersions:
    def __init__(self, redis: Any, ttl_seconds: int, pending_seconds: int) -> None:
        """`ttl_seconds` bounds memory for idle users (a missing version only costs one store read);
        `pending_seconds` must outlast any one MongoDB write (MONGO_TIMEOUT_SECONDS bounds it)."""
        self._redis = redis
        self._ttl = ttl_seconds
        self._pending_ttl = pending_seconds
        self._settle = redis.register_script(_SETTLE)

    @staticmethod
    def key(uid: str) -> str:
        return f"auth:{{{uid}}}:user"

    @staticmethod
    def cacheable(version: str | None) -> bool:
        return version is not None and not version.startswith(PENDING_MARK)

    async def establish(self, uid: str) -> str | None:
        """A version for a user whose key is missing, set before the document is read; None when another
        process set one first (its value is unknown here: keep no copy this time)."""
        version = secrets.token_hex(8)
        done = await redis_guarded(self._redis.set(self.key(uid), version, nx=True, ex=self._ttl))
        return version if done else None

    async def mark_pending(self, uid: str) -> str:
        """Before a write: no process keeps a copy until `settle`."""
        mark = PENDING_MARK + secrets.token_hex(8)
        await redis_guarded(self._redis.set(self.key(uid), mark, ex=self._pending_ttl))
        return mark

    async def settle(self, uid: str, mark: str) -> None:
        """After a write, landed or not: every copy read before it is out of date."""
        await redis_guarded(self._settle(keys=[self.key(uid)], args=[mark, secrets.token_hex(8), self._ttl]))
