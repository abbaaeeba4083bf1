"""The outbox: a durable queue in Redis, so a request never waits on a mail server (or any other receiver), and a
restart or an outage of the receiver loses nothing.

Keys, all under one hash tag per queue (`{mail}` for mail: one Redis Cluster slot, so each script declares every
key it touches):

- `auth:{<queue>}:queue`: a ZSET of message ids scored by when they are due (milliseconds, Redis's clock);
- `auth:{<queue>}:messages`: a HASH of id -> message (JSON);
- `auth:{<queue>}:attempts`: a HASH of id -> how many times it was claimed;
- `auth:{<queue>}:dead`: a LIST of messages that kept failing, newest first, for an operator to look at.

A worker *claims* due messages with one Lua script that also pushes their due time forward by a lease:
no other worker can take them meanwhile, and if this one dies mid-send they are due again once the
lease runs out. The attempt number returned by the claim fences what follows: completing or failing a
message counts only while nobody has claimed it since, so a worker that overran its lease cannot undo
the work of the next.

Messages are typed (frozen dataclasses, one per intent: "mail a reset link to this address"); the queue's
`MessageCodec` turns them into the JSON records Redis holds and back. Intents, not rendered mails: a link's
secret is made at delivery time and is never stored here.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from services.infra.redis_guard import redis_guarded

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
class QueueKeys:
    """The Redis keys of one queue: a documented layout (the module docstring), one hash slot per queue."""

    queue: str
    messages: str
    attempts: str
    dead: str

    @classmethod
    def of(cls, name: str) -> QueueKeys:
        return cls(*(f"auth:{{{name}}}:{part}" for part in ("queue", "messages", "attempts", "dead")))


class Message(Protocol):
    """A queued intent: a frozen dataclass whose `kind` names it in the stored record."""

    kind: ClassVar[str]


M = TypeVar("M", bound=Message)


class MessageCodec(Generic[M]):
    """Typed messages to and from the records the queue stores: `{"kind": <the type's kind>, <its fields>}`.

    The same records as the plain dicts of earlier versions, so messages queued before an upgrade are still sent."""

    def __init__(self, types: Iterable[type[M]]) -> None:
        self._types = {cls.kind: cls for cls in types}

    def encode(self, message: M) -> dict[str, Any]:
        return {"kind": message.kind, **asdict(message)}  # type: ignore[call-overload]

    def decode(self, record: dict[str, Any]) -> M | None:
        """The message a record holds; None for a kind or shape this version does not know.

        A field a later version added with a default takes it when a record queued before the upgrade lacks it."""
        cls = self._types.get(record.get("kind"))  # type: ignore[arg-type]
        if cls is None:
            return None
        try:
            return cls(**{f.name: record[f.name] for f in fields(cls) if f.name in record})  # type: ignore[arg-type]
        except TypeError:  # a field without a default is missing, or the record has the wrong shape
            return None


@dataclass(frozen=True)
class Claimed(Generic[M]):
    """A message this worker holds until its lease ends; `attempt` counts claims, this one included.

    `message` is None when the stored record cannot be read back; `record` keeps it for the dead letters."""

    id: str
    attempt: int
    record: dict[str, Any]
    message: M | None


class Outbox(Generic[M]):
    def __init__(self, redis: Any, *, codec: MessageCodec[M], lease_seconds: float, max_attempts: int,
                 retry_base_seconds: float, retry_max_seconds: float, queue: str = "mail") -> None:
        self._redis = redis
        self._codec = codec
        keys = QueueKeys.of(queue)
        self._queue, self._messages, self._attempts, self._dead = keys.queue, keys.messages, keys.attempts, keys.dead
        self._lease_ms = int(lease_seconds * 1000)
        self._max_attempts = max_attempts
        self._retry_base = retry_base_seconds
        self._retry_max = retry_max_seconds
        self._enqueue = redis.register_script(_ENQUEUE)
        self._claim = redis.register_script(_CLAIM)
        self._complete = redis.register_script(_COMPLETE)
        self._retry = redis.register_script(_RETRY)
        self._bury = redis.register_script(_BURY)
        # Set on every enqueue, so this process's worker sends at once instead of at its next poll.
        self.added = asyncio.Event()

    async def enqueue(self, message: M, delay_seconds: float = 0) -> str:
        message_id = uuid.uuid4().hex
        record = json.dumps(self._codec.encode(message), separators=(",", ":"))
        await self._run(self._enqueue, [self._queue, self._messages], [message_id, record, int(delay_seconds * 1000)])
        self.added.set()
        return message_id

    async def claim(self, limit: int = 10) -> list[Claimed[M]]:
        flat = await self._run(self._claim, [self._queue, self._messages, self._attempts], [self._lease_ms, limit])
        claimed = []
        for i in range(0, len(flat), 3):
            record = json.loads(flat[i + 2])
            claimed.append(Claimed(str(flat[i]), int(flat[i + 1]), record, self._codec.decode(record)))
        return claimed

    async def complete(self, claimed: Claimed[M]) -> bool:
        """Sent: forget the message. False when another worker has claimed it since (our lease ran out)."""
        return bool(await self._run(self._complete, [self._queue, self._messages, self._attempts],
                                    [claimed.id, claimed.attempt]))

    def backoff(self, attempt: int) -> float:
        """Seconds before the next try: doubling from the base up to the cap, less up to 20% of jitter
        so messages that failed together do not all come back together."""
        delay = min(self._retry_base * 2 ** (attempt - 1), self._retry_max)
        return delay * random.uniform(0.8, 1.0)  # noqa: S311 (spreading retries, not a secret)

    async def fail(self, claimed: Claimed[M], error: str, permanent: bool = False) -> float | None:
        """Not sent: retry after a back-off, or, past the last attempt or for good, set it aside.

        Returns the delay before the next try, or None when the message went to the dead letters.
        """
        if permanent or claimed.attempt >= self._max_attempts:
            entry = {"id": claimed.id, "message": claimed.record, "attempts": claimed.attempt,
                     "error": error[:500], "failed_at": int(time.time())}
            await self._run(self._bury, [self._queue, self._messages, self._attempts, self._dead],
                            [claimed.id, claimed.attempt, json.dumps(entry), DEAD_LETTERS_KEPT])
            return None
        delay = self.backoff(claimed.attempt)
        await self._run(self._retry, [self._queue, self._messages, self._attempts],
                        [claimed.id, claimed.attempt, int(delay * 1000)])
        return delay

    async def pending(self) -> int:
        """Messages waiting or being sent."""
        return int(await redis_guarded(self._redis.zcard(self._queue)))

    async def dead_letters(self, count: int = 100) -> list[dict[str, Any]]:
        """The newest messages that were set aside, with why and after how many attempts (`mail dead-letters`)."""
        return [json.loads(raw) for raw in await redis_guarded(self._redis.lrange(self._dead, 0, count - 1))]

    async def _run(self, script: Any, keys: list[str], args: list[Any]) -> Any:
        return await redis_guarded(script(keys=keys, args=args))
