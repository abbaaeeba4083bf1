"""Single-use tokens for the links we mail: verify an email address, reset a password, confirm or cancel an
address change.

The token is `<uid>.<secret>`: 256 random bits from `secrets`, of which only a SHA-256 hash is stored,
in `auth:{<uid>}:action:<purpose>` (a hash: `hash`, `expires_at`, `used`, `binding`). So:

- a copy of Redis holds no usable link, and a guess is checked in constant time (`hmac.compare_digest`);
- there is one live token per user and purpose: issuing a new one replaces the old (newer wins);
- `binding` is a fingerprint of what the token was issued against (the address to verify; the password
  hash and address for a reset; the address and the pending change for an address change): once that
  changes, the token is stale, whatever its age;
- a record is kept `RECORD_GRACE` seconds past its expiry, so a page can say "expired" or "already
  used" instead of "invalid";
- consuming is one Lua compare-and-set, so two clicks at once use a link once;
- a link used up for a change MongoDB then reported as failed (503: the write may have landed or not) is given
  back: usable again, for the user as they are now or as the change would have left them (`retry`, the
  bindings such a change leads to), so the retry finishes the job instead of meeting a burnt link.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import time
from dataclasses import dataclass
from enum import Enum
from typing import Any, ClassVar, Literal

from services.infra import redis_guarded
from services.outcomes import LINK_EXPIRED, LINK_INVALID, LINK_USED, AuthError, Outcome, ServiceUnavailable
from services.users import User, UserStore

log = logging.getLogger("auth.links")
Purpose = Literal["verify", "reset", "email-new", "email-current", "email-cancel"]
# An address change mails the new address a confirmation, the current one a cancellation and, when the change
# was asked for without a fresh token, a confirmation too: one page confirms either.
EMAIL_CHANGE_CONFIRMATIONS: tuple[Purpose, ...] = ("email-new", "email-current")
RECORD_GRACE = 7 * 86_400
_TOKEN = re.compile(r"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.([A-Za-z0-9_-]{43})")

# KEYS[1] the record; ARGV: expected hash. Marks it used only if it still holds that hash, unused.
_CONSUME = """
if redis.call('HGET', KEYS[1], 'hash') ~= ARGV[1] then return 'gone' end
if redis.call('HGET', KEYS[1], 'used') == '1' then return 'used' end
redis.call('HSET', KEYS[1], 'used', '1')
return 'ok'
"""
# KEYS[1] the record; ARGV: its hash, the binding the failed change would have left. Only the same link's record.
_GIVE_BACK = """
if redis.call('HGET', KEYS[1], 'hash') ~= ARGV[1] then return 0 end
local retry = redis.call('HGET', KEYS[1], 'retry')
redis.call('HSET', KEYS[1], 'used', '0', 'retry', (retry and retry ~= '') and (retry .. ',' .. ARGV[2]) or ARGV[2])
return 1
"""


class LinkState(Enum):
    VALID = "valid"
    INVALID = "invalid"
    EXPIRED = "expired"
    USED = "used"


@dataclass(frozen=True)
class ParsedToken:
    uid: str
    secret: str


def parse_token(token: str | None) -> ParsedToken | None:
    """The uid and secret of a well-formed token; None for anything else (never reaches a Redis key)."""
    match = _TOKEN.fullmatch(token or "")
    return ParsedToken(match[1], match[2]) if match else None


def fingerprint(*values: str) -> str:
    """What a token is bound to, without storing the values themselves."""
    return hashlib.sha256("\x00".join(values).encode()).hexdigest()


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class ActionTokenStore:
    def __init__(self, redis: Any) -> None:
        self._redis = redis
        self._consume = redis.register_script(_CONSUME)
        self._give_back = redis.register_script(_GIVE_BACK)

    @staticmethod
    def key(uid: str, purpose: Purpose) -> str:
        return f"auth:{{{uid}}}:action:{purpose}"

    async def issue(self, uid: str, purpose: Purpose, binding: str, lifetime: int) -> str:
        """A new token for `purpose`; any earlier one of the same user and purpose stops working."""
        secret = secrets.token_urlsafe(32)
        key = self.key(uid, purpose)
        expires_at = int(time.time()) + lifetime
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            pipe.hset(key, mapping={"hash": _digest(secret), "expires_at": expires_at, "used": 0,
                                    "binding": binding})
            pipe.expire(key, lifetime + RECORD_GRACE)
            await redis_guarded(pipe.execute())
        return f"{uid}.{secret}"

    async def check(self, token: ParsedToken, purpose: Purpose, binding: str) -> LinkState:
        """What the token is worth now, without using it up (for a page that only shows a form)."""
        record = await redis_guarded(self._redis.hgetall(self.key(token.uid, purpose)))
        if not record or not hmac.compare_digest(record["hash"], _digest(token.secret)):
            return LinkState.INVALID
        if record["used"] == "1":
            return LinkState.USED
        bound = [record["binding"], *filter(None, record.get("retry", "").split(","))]
        if not any([hmac.compare_digest(candidate, binding) for candidate in bound]):
            return LinkState.INVALID  # the address or password changed since: a stale link
        if int(record["expires_at"]) <= time.time():
            return LinkState.EXPIRED
        return LinkState.VALID

    async def consume(self, token: ParsedToken, purpose: Purpose, binding: str) -> LinkState:
        """Use the token up if it is valid; VALID means this call, and no other, used it."""
        state = await self.check(token, purpose, binding)
        if state is not LinkState.VALID:
            return state
        outcome = await redis_guarded(self._consume(keys=[self.key(token.uid, purpose)], args=[_digest(token.secret)]))
        return {"ok": LinkState.VALID, "used": LinkState.USED}.get(outcome, LinkState.INVALID)

    async def give_back(self, token: ParsedToken, purpose: Purpose, binding: str) -> None:
        await redis_guarded(self._give_back(keys=[self.key(token.uid, purpose)], args=[_digest(token.secret), binding]))


def binding_for(purpose: Purpose, user: User) -> str:
    """A verification link proves one address; a reset link is for one address and one password; an address
    change's links are for one request (a newer one, its completion or its cancellation makes them stale)."""
    if purpose == "verify":
        return fingerprint(purpose, user.email)
    if purpose == "reset":
        return fingerprint(purpose, user.email, user.password_hash)
    change = user.email_change
    return fingerprint(purpose, user.email, change.id, change.email) if change else fingerprint(purpose, "")


class ActionLinks:
    """Action tokens as the flows use them: made for a user, checked and used up against the user as they are now."""

    _FAILURES: ClassVar[dict[LinkState, Outcome]] = {
        LinkState.INVALID: LINK_INVALID, LinkState.EXPIRED: LINK_EXPIRED, LinkState.USED: LINK_USED}

    def __init__(self, *, store: ActionTokenStore, users: UserStore, lifetimes: dict[Purpose, int]) -> None:
        self._store = store
        self._users = users
        self._lifetimes = lifetimes

    def lifetime(self, purpose: Purpose) -> int:
        return self._lifetimes[purpose]

    async def issue(self, user: User, purpose: Purpose) -> str:
        return await self._store.issue(user.uid, purpose, binding_for(purpose, user), self._lifetimes[purpose])

    async def check(self, token: str | None, purpose: Purpose) -> User:
        """The user a link is for, while it is usable; AuthError(LINK_...) otherwise."""
        parsed, user = await self._resolve(token)
        self._raise_unless_valid(await self._store.check(parsed, purpose, binding_for(purpose, user)))
        return user

    async def consume(self, token: str | None, purpose: Purpose) -> User:
        """Like `check`, and uses the link up: only one caller ever gets past this with a given token."""
        parsed, user = await self._resolve(token)
        self._raise_unless_valid(await self._store.consume(parsed, purpose, binding_for(purpose, user)))
        return user

    async def give_back(self, token: str | None, purpose: Purpose, then: User) -> None:
        """The change a consumed link was for failed with 503, and may have landed or not: make the link work once
        more, for the user as they are or as `then` (the user the change would have left). Best effort: with Redis
        down too, the link stays used, and the person asks for a new one."""
        parsed = parse_token(token)
        if parsed is None:
            return
        try:
            await self._store.give_back(parsed, purpose, binding_for(purpose, then))
        except ServiceUnavailable:
            log.warning("a %s link of user %s could not be given back after a failed change", purpose, parsed.uid)

    async def check_any(self, token: str | None, purposes: tuple[Purpose, ...]) -> tuple[User, Purpose]:
        """Which of `purposes` a link is for, and its user, while it is usable. The secret matches at most one
        record of the user (256 random bits each), so the first that is not INVALID is the link's own."""
        parsed, user = await self._resolve(token)
        state = LinkState.INVALID
        for purpose in purposes:
            state = await self._store.check(parsed, purpose, binding_for(purpose, user))
            if state is not LinkState.INVALID:
                self._raise_unless_valid(state)
                return user, purpose
        raise AuthError(self._FAILURES[state])

    async def _resolve(self, token: str | None) -> tuple[ParsedToken, User]:
        parsed = parse_token(token)
        user = await self._users.find_by_uid(parsed.uid) if parsed else None
        if parsed is None or user is None:
            raise AuthError(LINK_INVALID)
        return parsed, user

    def _raise_unless_valid(self, state: LinkState) -> None:
        if state is not LinkState.VALID:
            raise AuthError(self._FAILURES[state])
