"""Login sessions in Redis: what every token is bound to, refresh-token rotation and reuse detection.

A session is one login on one device. Its record (`auth:{<uid>}:session:<sid>`, a JSON string) holds
when and where it started, when it was last refreshed, and the ids (`jti`) of its current refresh
token and of that token's parent. Refreshing with:

- the current token rotates: a new refresh token becomes current, the presented one its parent;
- the parent hands back the current child again, so a client that lost the response, or a seed-era
  client that never stores new refresh tokens, keeps working: in `compatible` mode while it is the
  parent, in `strict` mode for the reuse interval after the rotation (services/sessions/policy.py);
- anything older means a copy of a refresh token is in someone else's hands: the session is ended.

The key's TTL is the session's idle timeout, re-armed by each refresh and never past its absolute end; a
login past the per-user cap ends the oldest sessions (services/sessions/scripts.py holds the scripts).
All of one user's keys share the `{<uid>}` hash tag, so each operation stays in one Redis Cluster slot,
and an authenticated request costs one MGET (epoch and session together).
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from enum import Enum
from typing import Any

from redis.asyncio.cluster import RedisCluster

from services.infra import ClientReads, StateReads, redis_guarded
from services.sessions import scripts
from services.sessions.epochs import TokenEpochs
from services.sessions.policy import ReuseMode, SessionPolicy
from services.tokens import Assurance
from services.users import UserVersions


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
    """What one MGET says about a token's user and session: everything an authenticated request reads from Redis.

    `session` is the session's record as stored (JSON), None once the session has ended; `user_version` says
    whether a process's copy of the user is still current (services/users/versions.py); `extra` holds the values
    of the keys a caller asked to read along (`token_state(extra_keys=...)`), in order."""

    epoch: int | None
    session: str | None
    user_version: str | None
    extra: tuple[str | None, ...] = ()

    @property
    def session_alive(self) -> bool:
        return self.session is not None


@dataclass(frozen=True)
class Created:
    """A new session, and the oldest sessions its login ended to stay within the per-user cap."""

    session: Session
    ended: list[str]


class SessionStore:
    def __init__(self, redis: Any, policy: SessionPolicy, reads: StateReads | None = None) -> None:
        """`reads` carries the per-request MGET (`token_state`): services/infra/redis_reads.py; the client's own
        `mget` when not given."""
        self._redis = redis
        self._reads = reads if reads is not None else ClientReads(redis)
        self._policy = policy
        self._create = redis.register_script(scripts.CREATE)
        self._rotate = redis.register_script(scripts.ROTATE)
        self._revoke_all = redis.register_script(scripts.REVOKE_ALL)
        self._elevate = redis.register_script(scripts.ELEVATE)

    @staticmethod
    def key(uid: str, sid: str) -> str:
        return f"auth:{{{uid}}}:session:{sid}"

    @staticmethod
    def index_key(uid: str) -> str:
        return f"auth:{{{uid}}}:sessions"

    async def create(self, uid: str, sid: str, refresh_jti: str, ip: str, user_agent: str,
                     assurance: Assurance) -> Created:
        now_ms = int(time.time() * 1000)
        now = now_ms // 1000
        session = Session(id=sid, created_at=now, last_used_at=now, ip=ip, user_agent=user_agent[:512])
        record = {**session.__dict__, "current": refresh_jti, "parent": "", "rotated_at": now_ms,
                  "aal": assurance.aal, "amr": list(assurance.amr)}
        ended = await self._guard(self._create(
            keys=[self.key(uid, sid), self.index_key(uid)],
            args=[sid, json.dumps(record), now_ms, self._policy.longest_ttl, self._policy.max_per_user,
                  self.key(uid, "")],
        ))
        return Created(session=session, ended=[str(ended_sid) for ended_sid in ended])

    async def token_state(self, uid: str, sid: str, extra_keys: tuple[str, ...] = ()) -> TokenState:
        """The user's cached epoch, the session's record and the user's version, in one round trip (one MGET).

        `extra_keys` are read in the same MGET: more per-request state without another round trip. On a Redis
        Cluster they must be the same user's keys (`auth:{<uid>}:...`), which share the slot."""
        values = await self._guard(self._reads.mget(
            (TokenEpochs.key(uid), self.key(uid, sid), UserVersions.key(uid), *extra_keys)))
        epoch = values[0]
        return TokenState(epoch=int(epoch) if epoch is not None else None, session=values[1], user_version=values[2],
                          extra=tuple(values[3:]))

    async def rotate(self, uid: str, sid: str, presented_jti: str, new_jti: str, ip: str,
                     user_agent: str) -> tuple[Rotation, str, Assurance]:
        """Atomically decide what a presented refresh token means; returns the outcome, the current jti and the
        session's assurance (what the tokens it hands out carry)."""
        return await self._judge(uid, sid, presented_jti, new_jti, ip, user_agent[:512], judge_only=False)

    async def elevate(self, uid: str, sid: str, new_refresh_jti: str, assurance: Assurance) -> bool:
        """Give the session `assurance` (a second factor was proven in it) and a new current refresh token, the one
        before no longer honoured; False when the session has ended."""
        return bool(await self._guard(self._elevate(
            keys=[self.key(uid, sid)],
            args=[new_refresh_jti, int(time.time() * 1000), assurance.aal, json.dumps(list(assurance.amr))])))

    async def accepts(self, uid: str, sid: str, refresh_jti: str) -> bool:
        """Whether the session would still honour this refresh token (the rotation's own rule, nothing written).

        A refresh token the session would no longer honour is a copy the owner no longer holds; it must not vouch
        for anyone."""
        rotation, _, _ = await self._judge(uid, sid, refresh_jti, "", "", "", judge_only=True)
        return rotation in (Rotation.ROTATED, Rotation.REPLAYED)

    async def _judge(self, uid: str, sid: str, presented_jti: str, new_jti: str, ip: str, user_agent: str,
                     judge_only: bool) -> tuple[Rotation, str, Assurance]:
        policy = self._policy
        outcome, current, *assurance = await self._guard(self._rotate(
            keys=[self.key(uid, sid), self.index_key(uid)],
            args=[presented_jti, new_jti, int(time.time() * 1000), ip, user_agent, policy.idle_ttl, sid,
                  policy.max_lifetime, int(policy.reuse is ReuseMode.STRICT), policy.reuse_interval * 1000,
                  int(judge_only), policy.longest_ttl],
        ))
        level, methods = assurance or ("", "[]")
        amr = json.loads(methods) or []  # Lua's cjson writes an empty list as {}
        # A record from before assurance existed has neither: aal1, methods unknown.
        return Rotation(outcome), current, Assurance.parsed(level or None, amr if level else None) or Assurance()

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
        await self._guard(self._revoke_all(keys=[self.index_key(uid)], args=[self.key(uid, "")]))

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
