"""The mail outbox: a durable queue in Redis, so a request never waits on a mail server and a restart
or an outage of the mail server loses nothing.

Keys, all under the `{mail}` hash tag (one Redis Cluster slot, so each script declares every key it touches):

- `auth:{mail}:queue`: a ZSET of message ids scored by when they are due (milliseconds, Redis's clock);
- `auth:{mail}:messages`: a HASH of id -> message (JSON);
- `auth:{mail}:attempts`: a HASH of id -> how many times it was claimed;
- `auth:{mail}:dead`: a LIST of messages that kept failing, newest first, for an operator to look at.

A worker *claims* due messages with one Lua script that also pushes their due time forward by a lease:
no other worker can take them meanwhile, and if this one dies mid-send they are due again once the
lease runs out. The attempt number returned by the claim fences what follows: completing or failing a
message counts only while nobody has claimed it since, so a worker that overran its lease cannot undo
the work of the next.

Messages are intents ("mail a reset link to this address"), not rendered mails: the link's secret is
made at delivery time and is never stored here.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from dataclasses import dataclass
from typing import Any

from services.redis_guard import guarded

QUEUE, MESSAGES, ATTEMPTS, DEAD = (f"auth:{{mail}}:{name}" for name in ("queue", "messages", "attempts", "dead"))
DEAD_LETTERS_KEPT = 1000

_NOW_MS = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
"""

# KEYS: queue, messages. ARGV: id, message, delay ms.
_ENQUEUE = _NOW_MS + """
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[1], now_ms + tonumber(ARGV[3]), ARGV[1])
return 1
"""

# KEYS: queue, messages, attempts. ARGV: lease ms, most messages to take. Returns {id, attempt, message, ...}.
_CLAIM = _NOW_MS + """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now_ms, 'LIMIT', 0, tonumber(ARGV[2]))
local claimed = {}
for _, id in ipairs(ids) do
  local message = redis.call('HGET', KEYS[2], id)
  if message then
    redis.call('ZADD', KEYS[1], now_ms + tonumber(ARGV[1]), id)
    local attempt = redis.call('HINCRBY', KEYS[3], id, 1)
    table.insert(claimed, id)
    table.insert(claimed, attempt)
    table.insert(claimed, message)
  else
    redis.call('ZREM', KEYS[1], id)
    redis.call('HDEL', KEYS[3], id)
  end
end
return claimed
"""

_FENCE = """
if tonumber(redis.call('HGET', KEYS[3], ARGV[1])) ~= tonumber(ARGV[2]) then return 0 end
"""

# KEYS: queue, messages, attempts. ARGV: id, attempt.
_COMPLETE = _FENCE + """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
return 1
"""

# KEYS: queue, messages, attempts. ARGV: id, attempt, delay ms.
_RETRY = _NOW_MS + _FENCE + """
redis.call('ZADD', KEYS[1], 'XX', now_ms + tonumber(ARGV[3]), ARGV[1])
return 1
"""

# KEYS: queue, messages, attempts, dead. ARGV: id, attempt, dead-letter entry, how many to keep.
_BURY = _FENCE + """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('LPUSH', KEYS[4], ARGV[3])
redis.call('LTRIM', KEYS[4], 0, tonumber(ARGV[4]) - 1)
return 1
"""


@dataclass(frozen=True)
class Claimed:
    """A message this worker holds until its lease ends; `attempt` counts claims, this one included."""

    id: str
    attempt: int
    message: dict[str, Any]


class Outbox:
    def __init__(self, redis: Any, lease_seconds: float, max_attempts: int, retry_base_seconds: float,
                 retry_max_seconds: float, retry_after: int) -> None:
        self._redis = redis
        self._lease_ms = int(lease_seconds * 1000)
        self._max_attempts = max_attempts
        self._retry_base = retry_base_seconds
        self._retry_max = retry_max_seconds
        self._retry_after = retry_after
        self._enqueue = redis.register_script(_ENQUEUE)
        self._claim = redis.register_script(_CLAIM)
        self._complete = redis.register_script(_COMPLETE)
        self._retry = redis.register_script(_RETRY)
        self._bury = redis.register_script(_BURY)
        # Set on every enqueue, so this process's worker sends at once instead of at its next poll.
        self.added = asyncio.Event()

    async def enqueue(self, message: dict[str, Any], delay_seconds: float = 0) -> str:
        message_id = uuid.uuid4().hex
        await self._run(self._enqueue, [QUEUE, MESSAGES],
                        [message_id, json.dumps(message, separators=(",", ":")), int(delay_seconds * 1000)])
        self.added.set()
        return message_id

    async def claim(self, limit: int = 10) -> list[Claimed]:
        flat = await self._run(self._claim, [QUEUE, MESSAGES, ATTEMPTS], [self._lease_ms, limit])
        return [Claimed(str(flat[i]), int(flat[i + 1]), json.loads(flat[i + 2])) for i in range(0, len(flat), 3)]

    async def complete(self, claimed: Claimed) -> bool:
        """Sent: forget the message. False when another worker has claimed it since (our lease ran out)."""
        return bool(await self._run(self._complete, [QUEUE, MESSAGES, ATTEMPTS], [claimed.id, claimed.attempt]))

    def backoff(self, attempt: int) -> float:
        """Seconds before the next try: doubling from the base up to the cap, less up to 20% of jitter
        so messages that failed together do not all come back together."""
        delay = min(self._retry_base * 2 ** (attempt - 1), self._retry_max)
        return delay * random.uniform(0.8, 1.0)  # noqa: S311 (spreading retries, not a secret)

    async def fail(self, claimed: Claimed, error: str, permanent: bool = False) -> float | None:
        """Not sent: retry after a back-off, or, past the last attempt or for good, set it aside.

        Returns the delay before the next try, or None when the message went to the dead letters.
        """
        if permanent or claimed.attempt >= self._max_attempts:
            entry = {"id": claimed.id, "message": claimed.message, "attempts": claimed.attempt,
                     "error": error[:500], "failed_at": int(time.time())}
            await self._run(self._bury, [QUEUE, MESSAGES, ATTEMPTS, DEAD],
                            [claimed.id, claimed.attempt, json.dumps(entry), DEAD_LETTERS_KEPT])
            return None
        delay = self.backoff(claimed.attempt)
        await self._run(self._retry, [QUEUE, MESSAGES, ATTEMPTS], [claimed.id, claimed.attempt, int(delay * 1000)])
        return delay

    async def pending(self) -> int:
        """Messages waiting or being sent."""
        return int(await guarded(self._redis.zcard(QUEUE), self._retry_after))

    async def dead_letters(self, count: int = 100) -> list[dict[str, Any]]:
        return [json.loads(raw) for raw in await guarded(self._redis.lrange(DEAD, 0, count - 1), self._retry_after)]

    async def _run(self, script: Any, keys: list[str], args: list[Any]) -> Any:
        return await guarded(script(keys=keys, args=args), self._retry_after)
