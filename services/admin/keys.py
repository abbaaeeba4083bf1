"""Admin keys: the credentials the backend's own services call `/admin/...` with (`Authorization: Bearer pja_...`).

A key is `pja_` and 43 characters of base64url: 32 bytes (256 bits) from `secrets`, shown once by
`python server.py admin-keys create` and never stored. Redis keeps its HMAC-SHA256 under ADMIN_KEY_SECRET
(`auth:{admin}:digests`: digest -> name, scopes, creation time; `auth:{admin}:keys`: name -> digest).

A fast keyed hash, not bcrypt or argon2: those are slow so that a guessable password costs an attacker a lot per
guess; a 256-bit random key has no guessable neighbours (2^256 tries against a stolen digest), so slowness would
only cost us, on every admin request. The key of the hash (a pepper kept outside Redis) means a copy of Redis
alone does not even let one test a candidate key. A lookup by digest takes the same path for every key, so how
long it takes tells nothing about a stored one.

Every request reads its key's record (one HGET), so a revoked key fails on its very next request. "Last used"
is written at most once a minute per key and process, never once per request.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

from services.infra import redis_guarded
from services.outcomes import ADMIN_KEY_REQUIRED, INSUFFICIENT_SCOPE, AuthError

PREFIX = "pja_"
KEY_BYTES = 32
SCOPES = ("users:read", "users:write", "sessions:write", "introspect")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_KEY = re.compile(r"^pja_[A-Za-z0-9_-]{43}$")
_DIGESTS, _NAMES, _LAST_USED = "auth:{admin}:digests", "auth:{admin}:keys", "auth:{admin}:last-used"

# KEYS: names, digests. ARGV: name, digest, record.
_CREATE = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
return 1
"""
# KEYS: names, digests, last used. ARGV: name.
_REVOKE = """
local digest = redis.call('HGET', KEYS[1], ARGV[1])
if not digest then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], digest)
redis.call('HDEL', KEYS[3], ARGV[1])
return 1
"""


class AdminKeyError(ValueError):
    """A name or scope the command line was given cannot make a key (the message says why)."""


@dataclass(frozen=True)
class AdminKey:
    name: str
    scopes: tuple[str, ...]
    created_at: int
    last_used_at: int | None = None

    def allows(self, scope: str) -> bool:
        return scope in self.scopes


class AdminKeys:
    def __init__(self, *, redis: Any, secret: bytes, last_used_every: float = 60.0) -> None:
        self._redis = redis
        self._secret = secret
        self._last_used_every = last_used_every
        self._last_written: dict[str, float] = {}
        self._create = redis.register_script(_CREATE)
        self._revoke = redis.register_script(_REVOKE)

    def digest(self, key: str) -> str:
        return hmac.new(self._secret, key.encode(), hashlib.sha256).hexdigest()

    async def create(self, name: str, scopes: tuple[str, ...]) -> tuple[str, AdminKey]:
        """A new key, returned once with its record; AdminKeyError for a bad or taken name or an unknown scope."""
        if not NAME.match(name):
            raise AdminKeyError("a key's name is 1 to 64 letters, digits, '.', '_' or '-', starting with a letter "
                                "or digit")
        unknown = sorted(set(scopes) - set(SCOPES))
        if unknown or not scopes:
            raise AdminKeyError(f"scopes must be some of {', '.join(SCOPES)} (got {', '.join(scopes) or 'none'})")
        key = PREFIX + base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode().rstrip("=")
        record = AdminKey(name=name, scopes=tuple(dict.fromkeys(scopes)), created_at=int(time.time()))
        stored = json.dumps({"name": name, "scopes": list(record.scopes), "created_at": record.created_at})
        made = await redis_guarded(self._create(keys=[_NAMES, _DIGESTS], args=[name, self.digest(key), stored]))
        if not made:
            raise AdminKeyError(f"a key named {name} exists already: revoke it first, or choose another name")
        return key, record

    async def list(self) -> list[AdminKey]:
        records = await redis_guarded(self._redis.hgetall(_DIGESTS))
        used = await redis_guarded(self._redis.hgetall(_LAST_USED))
        keys = [_parsed(raw, used) for raw in records.values()]
        return sorted(keys, key=lambda key: (key.created_at, key.name))

    async def revoke(self, name: str) -> bool:
        self._last_written.pop(name, None)
        return bool(await redis_guarded(self._revoke(keys=[_NAMES, _DIGESTS, _LAST_USED], args=[name])))

    async def check(self, presented: str | None, scope: str) -> AdminKey:
        """The key `presented` (the bearer token) names, if it may do `scope`: 401 `auth/admin-key-required` for
        no key, a user's token or a key that is unknown or revoked; 403 `auth/insufficient-scope` without it."""
        if not presented or not _KEY.match(presented):
            raise AuthError(ADMIN_KEY_REQUIRED)
        raw = await redis_guarded(self._redis.hget(_DIGESTS, self.digest(presented)))
        if raw is None:
            raise AuthError(ADMIN_KEY_REQUIRED, "This admin key is not valid: unknown, or revoked.")
        key = _parsed(raw, {})
        if not key.allows(scope):
            raise AuthError(INSUFFICIENT_SCOPE, f"This admin key does not have the scope {scope}.")
        await self._note_use(key.name)
        return key

    async def _note_use(self, name: str) -> None:
        now = time.time()
        if now - self._last_written.get(name, 0.0) < self._last_used_every:
            return
        self._last_written[name] = now
        await redis_guarded(self._redis.hset(_LAST_USED, name, int(now)))


def _parsed(raw: Any, used: dict[Any, Any]) -> AdminKey:
    record = json.loads(raw)
    name = record["name"]
    last = used.get(name) or used.get(name.encode())
    return AdminKey(name=name, scopes=tuple(record["scopes"]), created_at=int(record["created_at"]),
                    last_used_at=int(last) if last is not None else None)


def admin_key_secret(configured: str, audit_key: bytes) -> bytes:
    """ADMIN_KEY_SECRET, or a key derived from the audit key (HMAC with a label of its own: the two keys' uses
    never meet)."""
    if configured:
        return configured.encode()
    return hmac.new(audit_key, b"python-jwt-auth admin keys v1", hashlib.sha256).digest()
