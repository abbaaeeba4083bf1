"""Sign-in codes and magic links: one challenge per address or phone number, in Redis, single use, stored only hashed.

A challenge is made when its mail or text goes out (the outbox worker, services/passwordless/delivery.py), never by
the request that asked, so that request does the same work for every address. It is one record,
`auth:{otp:<subject>}` (a hash; `<subject>` is the SHA-256 of the channel and the address or number, so Redis keys
name nobody), holding:

- `code`: the HMAC-SHA256 of the 6-digit code under a server key (from `AUDIT_HMAC_KEY` or `DATA_DIR`'s key, never
  in Redis): a million possible codes are no secret to a plain hash, so a copy of Redis must not be enough to find
  one. `key` names that key (a fingerprint), so a server with another key says so in its log instead of failing
  quietly;
- `link`: the SHA-256 of the magic link's 256-bit secret (a plain hash is enough for that much randomness);
- `expires_at` (`OTP_LIFETIME`), `attempts` (wrong codes so far: at `OTP_MAX_ATTEMPTS` the code is void, the right
  one too), `used`, and `challenge`: what the code is for (the channel, the address or number, whether it may make
  an account, where the link returns to), which the record holds for its short life only.

A new challenge for the same address replaces the record: the older code and link stop working at once. Using the
code or the link marks the record used in one Lua script (two requests at once use it once); a wrong code counts in
the same script. The record outlives its expiry by `RECORD_GRACE` so a page can say "expired" or "used".
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import logging
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any, Literal

from services.infra import redis_guarded
from services.outcomes import LINK_EXPIRED, LINK_INVALID, LINK_USED, OTP_INVALID, AuthError

log = logging.getLogger("auth.passwordless")
Channel = Literal["email", "phone", "phone-change"]
RECORD_GRACE = 3600
CODE_DIGITS = 6
_TOKEN = re.compile(r"([0-9a-f]{32})\.([A-Za-z0-9_-]{43})")

# KEYS[1] the record. ARGV: the code's HMAC, now (s), most wrong codes. Counts a wrong code; marks a right one used.
_USE_CODE = """
local r = redis.call('HMGET', KEYS[1], 'code', 'expires_at', 'used', 'attempts', 'challenge', 'key', 'link')
if not r[1] then return {'none'} end
if r[3] == '1' then return {'used'} end
if tonumber(r[4]) >= tonumber(ARGV[3]) then return {'void'} end
if tonumber(r[2]) <= tonumber(ARGV[2]) then return {'expired'} end
if r[1] ~= ARGV[1] then
  redis.call('HINCRBY', KEYS[1], 'attempts', 1)
  return {'wrong', r[6]}
end
redis.call('HSET', KEYS[1], 'used', '1')
return {'ok', r[5], r[7]}
"""
# KEYS[1] the record. ARGV: the link's hash, now (s). Marks it used if it is this link's, unused and unexpired.
_USE_LINK = """
local r = redis.call('HMGET', KEYS[1], 'link', 'expires_at', 'used', 'challenge')
if r[1] ~= ARGV[1] then return {'none'} end
if r[3] == '1' then return {'used'} end
if tonumber(r[2]) <= tonumber(ARGV[2]) then return {'expired'} end
redis.call('HSET', KEYS[1], 'used', '1')
return {'ok', r[4]}
"""
# KEYS[1] the record. ARGV: the link's hash. A sign-in that failed with 503 after using the record gives it back.
_GIVE_BACK = """
if redis.call('HGET', KEYS[1], 'link') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'used', '0')
return 1
"""


@dataclass(frozen=True)
class Challenge:
    """What a code or link signs in to: `destination` is the address or E.164 number of `channel`; `uid` the user a
    phone change belongs to (channel `phone-change`, keyed by that user rather than by the number)."""

    channel: Channel
    destination: str
    create_user: bool = False
    redirect_to: str = ""
    fresh: bool = False
    uid: str = ""

    @property
    def subject(self) -> str:
        return subject_of(self.channel, self.uid if self.channel == "phone-change" else self.destination)


@dataclass(frozen=True)
class IssuedChallenge:
    code: str
    link_token: str


@dataclass(frozen=True)
class UsedChallenge:
    """A challenge just used up, and the link secret's hash that gives it back should the sign-in fail with 503."""

    challenge: Challenge
    link_hash: str


def subject_of(channel: Channel, destination: str) -> str:
    return hashlib.sha256(f"{channel}\x00{destination}".encode()).hexdigest()[:32]


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class SignInCodes:
    def __init__(self, *, redis: Any, secret: bytes, lifetime: int, max_attempts: int) -> None:
        self._redis = redis
        self._key = hmac.new(secret, b"sign-in codes", hashlib.sha256).digest()
        self._key_ref = _sha256(self._key.hex())[:8]
        self.lifetime = lifetime
        self._max_attempts = max_attempts
        self._use_code = redis.register_script(_USE_CODE)
        self._use_link = redis.register_script(_USE_LINK)
        self._give_back = redis.register_script(_GIVE_BACK)

    @staticmethod
    def record_key(subject: str) -> str:
        return f"auth:{{otp:{subject}}}"

    def _code_hash(self, subject: str, code: str) -> str:
        return hmac.new(self._key, f"{subject}:{code}".encode(), hashlib.sha256).hexdigest()

    async def issue(self, challenge: Challenge) -> IssuedChallenge:
        """A new code and link for `challenge`; any earlier one for the same address or number stops working."""
        subject = challenge.subject
        code = f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"
        secret = secrets.token_urlsafe(32)
        key = self.record_key(subject)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            pipe.hset(key, mapping={"code": self._code_hash(subject, code), "link": _sha256(secret),
                                    "key": self._key_ref, "expires_at": int(time.time()) + self.lifetime,
                                    "attempts": 0, "used": 0, "challenge": json.dumps(dataclasses.asdict(challenge))})
            pipe.expire(key, self.lifetime + RECORD_GRACE)
            await redis_guarded(pipe.execute())
        return IssuedChallenge(code=code, link_token=f"{subject}.{secret}")

    async def use_code(self, channel: Channel, destination: str, code: str) -> UsedChallenge:
        """The challenge a right code was for, used up; 401 `auth/otp-invalid` for anything else, whatever the
        reason (no code for this address, wrong, expired, used, void), so the answer names no account."""
        subject = subject_of(channel, destination)
        candidate = code.strip().replace(" ", "").replace("-", "")
        if not (len(candidate) == CODE_DIGITS and candidate.isascii() and candidate.isdigit()):
            candidate = "not a code"  # still checked, and counted as a wrong one
        result = await redis_guarded(self._use_code(keys=[self.record_key(subject)], args=[
            self._code_hash(subject, candidate), int(time.time()), self._max_attempts]))
        state = _text(result[0])
        if state == "wrong" and _text(result[1]) != self._key_ref:
            log.error("a sign-in code was made with another key: every server must have the same AUDIT_HMAC_KEY "
                      "(or share DATA_DIR's key) for codes to work on all of them")
        if state != "ok":
            raise AuthError(OTP_INVALID)
        return UsedChallenge(_challenge(result[1]), _text(result[2]))

    async def check_link(self, token: str | None) -> Challenge:
        """The challenge of a magic link while it is usable, left unused (the page that shows a button)."""
        subject, secret = _parse(token)
        record = await redis_guarded(self._redis.hgetall(self.record_key(subject)))
        if not record or not hmac.compare_digest(record.get("link", ""), _sha256(secret)):
            raise AuthError(LINK_INVALID)
        if record.get("used") == "1":
            raise AuthError(LINK_USED)
        if int(record["expires_at"]) <= time.time():
            raise AuthError(LINK_EXPIRED)
        return _challenge(record["challenge"])

    async def use_link(self, token: str | None) -> UsedChallenge:
        subject, secret = _parse(token)
        link_hash = _sha256(secret)
        result = await redis_guarded(self._use_link(keys=[self.record_key(subject)], args=[link_hash,
                                                                                          int(time.time())]))
        state = _text(result[0])
        if state != "ok":
            raise AuthError({"used": LINK_USED, "expired": LINK_EXPIRED}.get(state, LINK_INVALID))
        return UsedChallenge(_challenge(result[1]), link_hash)

    async def give_back(self, used: UsedChallenge) -> None:
        """The sign-in a used challenge was for failed with 503: make its code and link work again (best effort)."""
        try:
            await redis_guarded(self._give_back(keys=[self.record_key(used.challenge.subject)],
                                                args=[used.link_hash]))
        except AuthError:
            log.warning("a sign-in code could not be given back after a failed sign-in")


def _parse(token: str | None) -> tuple[str, str]:
    match = _TOKEN.fullmatch(token or "")
    if match is None:
        raise AuthError(LINK_INVALID)
    return match[1], match[2]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _challenge(raw: Any) -> Challenge:
    return Challenge(**json.loads(_text(raw)))
