"""Failed logins per account, counted from each client network and across all of them, in Redis.

Two counts per account (OWASP ASVS 2.2.1, NIST 800-63B 5.2.2):

- per account and client network (`RATE_LIMIT_LOGIN_FAILURES`, 10 per 15 minutes): where a guesser sits. Past
  it, that network is locked out of that account with a growing back-off; the owner elsewhere is not (issue 12,
  item 5: one guesser used to lock the owner out of 49 of 50 logins);
- per account from every network (`RATE_LIMIT_LOGIN_FAILURES_ACCOUNT`, 100): the ceiling for guessers spread
  over many networks, NIST's "no more than 100 consecutive failed attempts".

An attempt is counted *before* its password is checked, in the same script that checks the locks: a reservation.
Checking and counting in two steps let 40 parallel guesses all pass a limit of 10 (item 4). The right password
clears both counts of its own network and account; an attempt an outage cut short gives its count back.

Both keys carry the account's hash tag, `rl:{login-failures:<account>}` and `...:<network>`, so the script runs in
one Redis Cluster slot; accounts and networks are hashed before they become key names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from services.config import Rate
from services.infra import redis_guarded
from services.limits.limiter import subject_digest, subject_key

RULE = "login-failures"
LockScope = Literal["network", "account"]

# KEYS: the account's count, its count from this network (hashes: count, locked_until). ARGV: network limit and
# window (ms), account limit and window (ms), base lock (ms), 1 to count past a lock. A count reaching its limit
# locks for base * 2^(count - limit), at most the window; each count is forgotten a window after its last failure.
# Returns {1, account count} when the attempt is counted, {0, ms to wait, 'network'|'account'} when refused.
_RESERVE = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local base = tonumber(ARGV[5])
local function locked_for(key)
  local until_ms = tonumber(redis.call('HGET', key, 'locked_until'))
  if until_ms == nil or until_ms <= now_ms then return 0 end
  return until_ms - now_ms
end
if ARGV[6] ~= '1' then
  local network_wait, account_wait = locked_for(KEYS[2]), locked_for(KEYS[1])
  if account_wait > 0 and account_wait >= network_wait then return {0, account_wait, 'account'} end
  if network_wait > 0 then return {0, network_wait, 'network'} end
end
local function count(key, limit, window)
  local failures = redis.call('HINCRBY', key, 'count', 1)
  if failures >= limit then
    redis.call('HSET', key, 'locked_until', math.ceil(now_ms + math.min(base * 2 ^ (failures - limit), window)))
  end
  redis.call('PEXPIRE', key, window)
  return failures
end
count(KEYS[2], tonumber(ARGV[1]), tonumber(ARGV[2]))
return {1, count(KEYS[1], tonumber(ARGV[3]), tonumber(ARGV[4]))}
"""

# KEYS as above; ARGV: their limits, in the same order. Takes one attempt back off each count; a lock that attempt
# started goes with it when its count drops below the limit again.
_GIVE_BACK = """
for i, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then
    if redis.call('HINCRBY', key, 'count', -1) < tonumber(ARGV[i]) then redis.call('HDEL', key, 'locked_until') end
  end
end
return 0
"""


@dataclass(frozen=True)
class LoginLock:
    """Why an attempt is refused and for how long: its network's count for the account, or the account's own."""

    scope: LockScope
    seconds: int
    rate: Rate

    def headers(self) -> dict[str, str]:
        """`Retry-After` and the RateLimit fields (draft-ietf-httpapi-ratelimit-headers) of the count that refused."""
        return {"Retry-After": str(self.seconds), "RateLimit-Limit": str(self.rate.limit), "RateLimit-Remaining": "0",
                "RateLimit-Reset": str(self.seconds), "RateLimit-Policy": f"{self.rate.limit};w={self.rate.window}"}


@dataclass(frozen=True)
class Reservation:
    """One attempt, counted before its password is checked (`failures`: the account's count with it), or the lock
    that refused it uncounted."""

    failures: int = 0
    lock: LoginLock | None = None


class LoginFailures:
    """`rule` names the counts in Redis: `login-failures` for passwords, `mfa-failures` for second-factor codes
    (services/mfa: the same lock rules, counted per user)."""

    def __init__(self, redis: Any, *, per_network: Rate, per_account: Rate, base_lock_seconds: int,
                 rule: str = RULE) -> None:
        self._redis = redis
        self._rule = rule
        self._rates: dict[LockScope, Rate] = {"network": per_network, "account": per_account}
        self._base_lock_ms = base_lock_seconds * 1000
        self._reserve = redis.register_script(_RESERVE)
        self._give_back = redis.register_script(_GIVE_BACK)

    async def reserve(self, account: str, network: str, past_lock: bool = False) -> Reservation:
        """Count one attempt unless a lock refuses it; `past_lock` counts it whatever the locks say (the owner's
        own session, a solved challenge: services/limits/challenge.py)."""
        network_rate, account_rate = self._rates["network"], self._rates["account"]
        result = await redis_guarded(self._reserve(keys=self.keys(account, network, self._rule), args=[
            network_rate.limit, network_rate.window * 1000, account_rate.limit, account_rate.window * 1000,
            self._base_lock_ms, int(past_lock)]))
        if int(result[0]):
            return Reservation(failures=int(result[1]))
        scope: LockScope = "account" if str(result[2]) == "account" else "network"
        return Reservation(lock=LoginLock(scope=scope, seconds=max(-(-int(result[1]) // 1000), 1),
                                          rate=self._rates[scope]))

    async def give_back(self, account: str, network: str) -> None:
        """The attempt never reached a verdict (an outage): it is no failure."""
        await redis_guarded(self._give_back(keys=self.keys(account, network, self._rule),
                                            args=[self._rates["account"].limit, self._rates["network"].limit]))

    async def clear(self, account: str, network: str) -> None:
        """The account's owner proved who they are from this network: forget its failures there and overall. Other
        networks' locks stay: a guesser's lock is not lifted by the owner's login."""
        await redis_guarded(self._redis.delete(*self.keys(account, network, self._rule)))

    @staticmethod
    def keys(account: str, network: str, rule: str = RULE) -> list[str]:
        """The account's count overall and from `network`: one hash slot (the account's)."""
        account_key = subject_key(rule, account)
        return [account_key, f"{account_key}:{subject_digest(network)}"]
