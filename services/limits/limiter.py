"""Request quotas in Redis, shared by every server process (the failed-login counts: login_failures.py).

Quotas use GCRA (the generic cell rate algorithm, as in redis-cell and Stripe's limiter): a rate of
`30/300` allows a burst of 30 and then one more every 10 s, with an exact `Retry-After`. Each quota is
one key updated by one Lua script, so it is atomic across processes and lives in one Redis Cluster
slot. Time comes from Redis itself (`TIME`), so servers with skewed clocks agree.

Subjects (IP addresses, email addresses) are hashed before they become key names: Redis never holds a
list of who tried to log in.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from services.config import Rate
from services.infra import redis_guarded
from services.outcomes import TOO_MANY_REQUESTS, AuthError

# KEYS[1] quota key; ARGV: emission interval (ms), burst window (ms), cost.
# Returns {allowed, remaining, reset_ms, retry_ms}.
_GCRA = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local emission = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now_ms then tat = now_ms end
local new_tat = tat + emission * cost
local allow_at = new_tat - window
if now_ms < allow_at then
  return {0, 0, tat - now_ms, allow_at - now_ms}
end
redis.call('SET', KEYS[1], new_tat, 'PX', math.max(1, math.ceil(new_tat - now_ms)))
return {1, math.floor((window - (new_tat - now_ms)) / emission), new_tat - now_ms, 0}
"""

@dataclass(frozen=True)
class Decision:
    allowed: bool
    rate: Rate
    remaining: int
    reset_seconds: int
    retry_after: int

    def headers(self) -> dict[str, str]:
        """The IETF RateLimit header fields (draft-ietf-httpapi-ratelimit-headers)."""
        headers = {
            "RateLimit-Limit": str(self.rate.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_seconds),
            "RateLimit-Policy": f"{self.rate.limit};w={self.rate.window}",
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after)
        return headers


def subject_digest(subject: str) -> str:
    """What stands for an address or account in a key name: Redis never holds a list of who tried to log in."""
    return hashlib.sha256(subject.encode()).hexdigest()[:32]


def subject_key(rule: str, subject: str) -> str:
    return f"rl:{{{rule}:{subject_digest(subject)}}}"


class RateLimiter:
    def __init__(self, redis: Any) -> None:
        self._redis = redis
        self._gcra = redis.register_script(_GCRA)

    async def hit(self, rule: str, subject: str, rate: Rate, cost: int = 1) -> Decision:
        """Count one request against the quota; the answer says whether it may go ahead."""
        emission_ms = rate.window * 1000 / rate.limit
        result = await self._run(self._gcra, [subject_key(rule, subject)], [emission_ms, rate.window * 1000, cost])
        allowed, remaining, reset_ms, retry_ms = (int(value) for value in result)
        return Decision(allowed=bool(allowed), rate=rate, remaining=max(remaining, 0),
                        reset_seconds=_ceil_seconds(reset_ms), retry_after=max(_ceil_seconds(retry_ms), 1))

    async def enforce(self, rule: str, subject: str, rate: Rate) -> Decision:
        """`hit`, raising 429 `auth/too-many-requests` with the RateLimit headers when over the quota."""
        decision = await self.hit(rule, subject, rate)
        if not decision.allowed:
            raise AuthError(TOO_MANY_REQUESTS, headers=decision.headers())
        return decision

    async def _run(self, script: Any, keys: list[str], args: list[Any]) -> Any:
        return await redis_guarded(script(keys=keys, args=args))


def _ceil_seconds(milliseconds: int) -> int:
    return -(-int(milliseconds) // 1000)
