"""Login sessions in Redis: what every token is bound to, refresh-token rotation and reuse detection.

A session is one login on one device. Its record (`auth:{<uid>}:session:<sid>`, a JSON string) holds
when and where it started, when it was last refreshed, and the ids (`jti`) of its current refresh
token and of that token's parent. Refreshing with:

- the current token rotates: a new refresh token becomes current, the presented one its parent;
- the parent, while its child has never been used, hands back the current child again: a client that
  lost the response, or a seed-era client that never stores new refresh tokens, keeps working;
- anything older means a copy of a refresh token is in someone else's hands: the session is ended.

All of one user's keys share the `{<uid>}` hash tag, so each operation stays in one Redis Cluster slot,
and an authenticated request costs one MGET (epoch and session together).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from enum import Enum
from typing import Any

from redis.asyncio.cluster import RedisCluster

from services.infra import redis_guarded
from services.sessions.epochs import TokenEpochs

# KEYS: session, index. ARGV: presented jti, new jti, now, ip, user agent, ttl seconds, sid.
_ROTATE = """
local raw = redis.call('GET', KEYS[1])
if not raw then return {'missing', ''} end
local session = cjson.decode(raw)
if session.current == ARGV[1] then
  session.parent = session.current
  session.current = ARGV[2]
  session.last_used_at = tonumber(ARGV[3])
  session.ip = ARGV[4]
  session.user_agent = ARGV[5]
  redis.call('SET', KEYS[1], cjson.encode(session), 'EX', ARGV[6])
  redis.call('EXPIRE', KEYS[2], ARGV[6])
  return {'rotated', session.current}
end
if session.parent == ARGV[1] then
  return {'replayed', session.current}
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[7])
return {'reused', ''}
"""


class Rotation(Enum):
    ROTATED = "rotated"
    REPLAYED = "replayed"
    REUSED = "reused"
    MISSING = "missing"


@dataclass(frozen=True)
class Session:
    id: str
    created_at: int
    last_used_at: int
    ip: str
    user_agent: str

    def public(self, current_sid: str | None = None) -> dict[str, Any]:
        return {"id": self.id, "created_at": self.created_at, "last_used_at": self.last_used_at,
                "ip": self.ip, "user_agent": self.user_agent, "current": self.id == current_sid}


@dataclass(frozen=True)
class TokenState:
    """What one MGET says about a token's user and session."""

    epoch: int | None
    session_alive: bool


class SessionStore:
    def __init__(self, redis: Any, ttl_seconds: int) -> None:
        """`ttl_seconds` (the refresh-token lifetime) ends a session that nobody refreshes."""
        self._redis = redis
        self._ttl = ttl_seconds
        self._rotate = redis.register_script(_ROTATE)

    @staticmethod
    def key(uid: str, sid: str) -> str:
        return f"auth:{{{uid}}}:session:{sid}"

    @staticmethod
    def index_key(uid: str) -> str:
        return f"auth:{{{uid}}}:sessions"

    async def create(self, uid: str, refresh_jti: str, ip: str, user_agent: str) -> Session:
        now = int(time.time())
        session = Session(id=uuid.uuid4().hex, created_at=now, last_used_at=now, ip=ip, user_agent=user_agent[:512])
        record = {**session.__dict__, "current": refresh_jti, "parent": ""}
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self.key(uid, session.id), json.dumps(record), ex=self._ttl)
            pipe.zadd(self.index_key(uid), {session.id: now})
            pipe.expire(self.index_key(uid), self._ttl)
            await self._guard(pipe.execute())
        return session

    async def token_state(self, uid: str, sid: str) -> TokenState:
        """The user's cached epoch and whether the session lives, in one round trip."""
        epoch, session = await self._guard(self._redis.mget(TokenEpochs.key(uid), self.key(uid, sid)))
        return TokenState(epoch=int(epoch) if epoch is not None else None, session_alive=session is not None)

    async def rotate(self, uid: str, sid: str, presented_jti: str, new_jti: str, ip: str,
                     user_agent: str) -> tuple[Rotation, str]:
        """Atomically decide what a presented refresh token means; returns the outcome and the current jti."""
        outcome, current = await self._guard(self._rotate(
            keys=[self.key(uid, sid), self.index_key(uid)],
            args=[presented_jti, new_jti, int(time.time()), ip, user_agent[:512], self._ttl, sid],
        ))
        return Rotation(outcome), current

    async def accepts(self, uid: str, sid: str, refresh_jti: str) -> bool:
        """Whether the session would still honour this refresh token: its current one or that one's parent.

        A refresh token rotated out longer ago is a copy the owner no longer holds; it must not vouch for anyone.
        """
        raw = await self._guard(self._redis.get(self.key(uid, sid)))
        if raw is None:
            return False
        record = json.loads(raw)
        return refresh_jti in (record["current"], record["parent"])

    async def list(self, uid: str) -> list[Session]:
        sids = await self._guard(self._redis.zrange(self.index_key(uid), 0, -1))
        if not sids:
            return []
        records = await self._guard(self._redis.mget([self.key(uid, sid) for sid in sids]))
        gone = [sid for sid, raw in zip(sids, records, strict=True) if raw is None]
        if gone:  # expired sessions leave their index entry behind; tidy it while we are here
            await self._guard(self._redis.zrem(self.index_key(uid), *gone))
        sessions = [_session_from(json.loads(raw)) for raw in records if raw is not None]
        return sorted(sessions, key=lambda session: session.created_at, reverse=True)

    async def revoke(self, uid: str, sid: str) -> bool:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(self.key(uid, sid))
            pipe.zrem(self.index_key(uid), sid)
            deleted, _ = await self._guard(pipe.execute())
        return bool(deleted)

    async def revoke_all(self, uid: str) -> None:
        sids = await self._guard(self._redis.zrange(self.index_key(uid), 0, -1))
        keys = [self.key(uid, sid) for sid in sids] + [self.index_key(uid)]
        await self._guard(self._redis.delete(*keys))

    async def forget_user(self, uid: str) -> None:
        """Delete every key under `auth:{<uid>}:`; uids are UUIDs, so the pattern holds no glob characters.

        The keys share one hash slot, so on a cluster only the node serving that slot is scanned."""

        async def collect() -> list[str]:
            return [key async for key in await self._scan(f"auth:{{{uid}}}:*", near=self.index_key(uid))]

        keys = await self._guard(collect())
        if keys:
            await self._guard(self._redis.delete(*keys))

    async def revoke_everyone(self, batch: int = 1000) -> int:
        """End every session of every user (the operator's big red button); returns how many ended.

        SCAN walks every primary of a cluster; a batch of keys costs one DEL per hash slot (redis-py splits it)."""

        async def sweep() -> int:
            ended, keys = 0, []
            async for key in await self._scan("auth:{*}:session*"):
                keys.append(key)
                if len(keys) >= batch:
                    ended, keys = ended + await self._delete_counting_sessions(keys), []
            return ended + (await self._delete_counting_sessions(keys) if keys else 0)

        return await self._guard(sweep())

    async def _delete_counting_sessions(self, keys: list[str]) -> int:
        sessions = [key for key in keys if ":session:" in key]
        indexes = [key for key in keys if ":session:" not in key]
        if indexes:
            await self._redis.delete(*indexes)
        return int(await self._redis.delete(*sessions)) if sessions else 0

    async def _scan(self, pattern: str, near: str | None = None) -> AsyncIterator[str]:
        """Keys matching `pattern`: on a cluster, of every primary, or of the one serving `near`'s slot."""
        options: dict[str, Any] = {"match": pattern, "count": 1000}
        if near is not None and isinstance(self._redis, RedisCluster):
            await self._redis.initialize()  # the slot map, read once per client
            options["target_nodes"] = self._redis.get_node_from_key(near)
        return self._redis.scan_iter(**options)

    async def _guard(self, operation: Any) -> Any:
        return await redis_guarded(operation)


def _session_from(record: dict[str, Any]) -> Session:
    return Session(id=record["id"], created_at=record["created_at"], last_used_at=record["last_used_at"],
                   ip=record["ip"], user_agent=record["user_agent"])
