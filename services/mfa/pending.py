"""Short-lived, single-use steps in Redis: a TOTP enrolment waiting for its first code, a second-factor challenge,
a passkey registration or sign-in waiting for the authenticator's answer.

A step is a hash under `auth:{<uid>}:mfa:<kind>:<id>` (the user's hash slot, and gone with the user's other keys),
or `auth:mfa:{<kind>:<id>}` for a passkey sign-in, whose user is not known yet. Its id is 192 random bits. It expires
on its own; `take` reads and deletes it in one script, so a WebAuthn challenge is answered once (a replayed
assertion finds nothing), and `finish` deletes it for exactly one of two concurrent right answers. A wrong code
counts against the step (`failed`): at `max_attempts` it is gone.
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass
from typing import Any, Literal

from services.infra import redis_guarded

StepKind = Literal["totp-enrolment", "challenge", "passkey-registration", "passkey-sign-in"]
STEP_ID = re.compile(r"^[A-Za-z0-9_-]{32}$")

_TAKE = """
local fields = redis.call('HGETALL', KEYS[1])
redis.call('DEL', KEYS[1])
return fields
"""
# KEYS[1] the step; ARGV[1] the attempts it takes. Returns the attempts left (0: it is gone).
_FAILED = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local used = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
if used >= tonumber(ARGV[1]) then redis.call('DEL', KEYS[1]) return 0 end
return tonumber(ARGV[1]) - used
"""


def new_id() -> str:
    return secrets.token_urlsafe(24)


@dataclass(frozen=True)
class PendingStep:
    id: str
    kind: StepKind
    uid: str
    expires_at: int
    data: dict[str, str]


class PendingSteps:
    def __init__(self, redis: Any) -> None:
        self._redis = redis
        self._take = redis.register_script(_TAKE)
        self._failed = redis.register_script(_FAILED)

    @staticmethod
    def key(kind: StepKind, uid: str, step_id: str) -> str:
        return f"auth:{{{uid}}}:mfa:{kind}:{step_id}" if uid else f"auth:mfa:{{{kind}:{step_id}}}"

    async def open(self, kind: StepKind, uid: str, data: dict[str, str], ttl: int,
                   step_id: str | None = None) -> PendingStep:
        """A new step; `step_id` names it when the caller made its id (the factor id of a TOTP enrolment)."""
        step_id = step_id or new_id()
        expires_at = int(time.time()) + ttl
        key = self.key(kind, uid, step_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={**data, "expires_at": expires_at, "attempts": 0})
            pipe.expire(key, ttl)
            await redis_guarded(pipe.execute())
        return PendingStep(id=step_id, kind=kind, uid=uid, expires_at=expires_at, data=data)

    async def peek(self, kind: StepKind, uid: str, step_id: str | None) -> PendingStep | None:
        """The step, left in place (a code may be wrong and tried again)."""
        if not step_id or not STEP_ID.match(step_id):
            return None
        return self._step(kind, uid, step_id, await redis_guarded(self._redis.hgetall(self.key(kind, uid, step_id))))

    async def take(self, kind: StepKind, uid: str, step_id: str | None) -> PendingStep | None:
        """The step, deleted in the same script: whatever comes of it, it is answered once."""
        if not step_id or not STEP_ID.match(step_id):
            return None
        raw = await redis_guarded(self._take(keys=[self.key(kind, uid, step_id)]))
        return self._step(kind, uid, step_id, dict(zip(raw[::2], raw[1::2], strict=True)))

    async def finish(self, step: PendingStep) -> bool:
        """Delete a step that was answered right; False when another request did so first."""
        return bool(await redis_guarded(self._redis.delete(self.key(step.kind, step.uid, step.id))))

    async def failed(self, step: PendingStep, max_attempts: int) -> int:
        """Count a wrong answer against the step; how many it still takes (0: it is gone)."""
        return int(await redis_guarded(self._failed(keys=[self.key(step.kind, step.uid, step.id)],
                                                    args=[max_attempts])))

    @staticmethod
    def _step(kind: StepKind, uid: str, step_id: str, fields: dict[Any, Any]) -> PendingStep | None:
        if not fields:
            return None
        data = {_text(name): _text(value) for name, value in fields.items()}
        expires_at = int(data.pop("expires_at", "0"))
        data.pop("attempts", None)
        if expires_at <= time.time():
            return None
        return PendingStep(id=step_id, kind=kind, uid=uid, expires_at=expires_at, data=data)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
