"""An outbox that keeps order within a lane: the messages of one lane are delivered one at a time, oldest first.

Webhook events of one user must reach a receiver in the order they happened (`user.created` before
`user.deleted`), even when one of them fails and waits for its retry. The plain outbox cannot promise that: each
message has its own due time. Here each lane (one receiver and one user: `<endpoint>:<uid>`) has a LIST of its
message ids, `auth:{<queue>}:lane:<lane>`, and only the lane's head is in the due ZSET: claiming, leases,
fencing, retries with back-off and dead letters are the outbox's own (services/infra/outbox.py). Completing or
burying the head puts the next message of its lane into the ZSET, due at once, in the same script. Lanes are
independent: a receiver that is down holds back its own lanes only.

A message set aside in the dead letters no longer holds its lane back; `replay` queues it again, at the end of
its lane, with the same record (so the same event id: receivers de-duplicate).
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any, TypeVar

from services.infra.outbox import _FENCE, _NOW_MS, DEAD_LETTERS_KEPT, Claimed, Message, Outbox
from services.infra.redis_guard import redis_guarded

M = TypeVar("M", bound=Message)

# KEYS: queue, messages, lane. ARGV: id, message, delay ms.
_ENQUEUE = _NOW_MS + """
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
if redis.call('RPUSH', KEYS[3], ARGV[1]) == 1 then
  redis.call('ZADD', KEYS[1], now_ms + tonumber(ARGV[3]), ARGV[1])
end
return 1
"""

_NEXT_OF_LANE = """
redis.call('LREM', KEYS[4], 1, ARGV[1])
local next_id = redis.call('LINDEX', KEYS[4], 0)
if next_id then redis.call('ZADD', KEYS[1], 'NX', now_ms, next_id) end
"""

# KEYS: queue, messages, attempts, lane. ARGV: id, attempt.
_COMPLETE = _NOW_MS + _FENCE + """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
""" + _NEXT_OF_LANE + "return 1"

# KEYS: queue, messages, attempts, lane, dead. ARGV: id, attempt, dead-letter entry, how many to keep.
_BURY = _NOW_MS + _FENCE + """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('LPUSH', KEYS[5], ARGV[3])
redis.call('LTRIM', KEYS[5], 0, tonumber(ARGV[4]) - 1)
""" + _NEXT_OF_LANE + "return 1"


class OrderedOutbox(Outbox[M]):
    """The outbox of messages that carry a `lane` field: delivered in order within it."""

    def __init__(self, redis: Any, **options: Any) -> None:
        super().__init__(redis, **options)
        self._lane_prefix = self._queue.removesuffix(":queue") + ":lane:"
        self._enqueue_ordered = redis.register_script(_ENQUEUE)
        self._complete_ordered = redis.register_script(_COMPLETE)
        self._bury_ordered = redis.register_script(_BURY)

    async def enqueue(self, message: M, delay_seconds: float = 0) -> str:
        record = self._codec.encode(message)
        return await self._enqueue_record(record, delay_seconds)

    async def _enqueue_record(self, record: dict[str, Any], delay_seconds: float = 0) -> str:
        message_id = uuid.uuid4().hex
        await self._run(self._enqueue_ordered, [self._queue, self._messages, self._lane(record)],
                        [message_id, json.dumps(record, separators=(",", ":")), int(delay_seconds * 1000)])
        self.added.set()
        return message_id

    async def complete(self, claimed: Claimed[M]) -> bool:
        return bool(await self._run(self._complete_ordered,
                                    [self._queue, self._messages, self._attempts, self._lane(claimed.record)],
                                    [claimed.id, claimed.attempt]))

    async def fail(self, claimed: Claimed[M], error: str, permanent: bool = False) -> float | None:
        if not (permanent or claimed.attempt >= self._max_attempts):
            return await super().fail(claimed, error)
        entry = {"id": claimed.id, "message": claimed.record, "attempts": claimed.attempt, "error": error[:500],
                 "failed_at": int(time.time())}
        await self._run(self._bury_ordered,
                        [self._queue, self._messages, self._attempts, self._lane(claimed.record), self._dead],
                        [claimed.id, claimed.attempt, json.dumps(entry), DEAD_LETTERS_KEPT])
        return None

    async def pending(self) -> int:
        """Messages waiting (at the head of their lane or behind it) or being delivered."""
        return int(await redis_guarded(self._redis.hlen(self._messages)))

    async def dead_count(self) -> int:
        return int(await redis_guarded(self._redis.llen(self._dead)))

    async def replay(self, message_id: str) -> dict[str, Any] | None:
        """Queue the dead letter `message_id` again (its id, or the `event_id` of its message); None if none is."""
        for raw in await redis_guarded(self._redis.lrange(self._dead, 0, -1)):
            entry = json.loads(raw)
            record = entry.get("message") or {}
            if message_id in (entry.get("id"), record.get("event_id")):
                await self._enqueue_record(record)
                await redis_guarded(self._redis.lrem(self._dead, 1, raw))
                return entry
        return None

    def _lane(self, record: dict[str, Any]) -> str:
        return self._lane_prefix + str(record.get("lane", ""))
