"""Redis mode: read the auth server's revocation state from its own Redis, read-only, in one round trip, with
no call to the auth server. The keys are layout 1 of the contract in docs/resource-servers.md:

- `auth:{<sub>}:epoch`: the user's token epoch; the token is live only while its `epoch` is at least this;
- `auth:{<sub>}:session:<sid>`: exists while the token's session lives;
- `auth:keys`: `{"layout": 1, "kids": [...]}`, the keys the auth server verifies with right now.

One MGET reads all three on a plain Redis; on a Redis Cluster the user's keys share one slot and `auth:keys`
lives in another, so the two reads go out at once (one round trip of latency). Under asyncio the reads of
requests that arrive together share that MGET (batching.py).

Failing closed: Redis unreachable, `auth:keys` missing, or a layout this library does not know, is 503
`auth/unavailable`, never "allowed". A missing epoch while the session lives happens only while the auth server
revokes the user's tokens, or when Redis lost that key; the token is refused (401 `auth/token-revoked`, so the
client refreshes at the auth server, which restores the key), unless `fallback` (introspection) is given.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from jwt_auth_client.batching import MgetBatcher
from jwt_auth_client.errors import TOKEN_INVALID, TOKEN_REVOKED, UNAVAILABLE, AuthError
from jwt_auth_client.revocation import AsyncRevocationCheck, RevocationCheck
from jwt_auth_client.token import VerifiedToken

log = logging.getLogger("jwt_auth_client")

LAYOUT_VERSION = 1
PUBLISHED_KEYS = "auth:keys"
UNKNOWN_STATE = "This token's state is not known here right now; refresh it at the auth server."


def epoch_key(subject: str) -> str:
    return f"auth:{{{subject}}}:epoch"


def session_key(subject: str, session_id: str) -> str:
    return f"auth:{{{subject}}}:session:{session_id}"


class RedisLayout:
    """Which keys to read for a token, and what their values mean (no I/O: both modes of I/O share it)."""

    def __init__(self) -> None:
        self._published: tuple[Any, frozenset[str]] = (None, frozenset())

    @staticmethod
    def keys_for(token: VerifiedToken) -> list[str]:
        return [epoch_key(token.subject), session_key(token.subject, token.session_id), PUBLISHED_KEYS]

    def judge(self, token: VerifiedToken, values: Sequence[Any]) -> bool:
        """Raise AuthError unless the state allows the token; False when its epoch is missing (undecided)."""
        epoch, session, published = values
        if token.key_id not in self._live_kids(published):
            raise AuthError(TOKEN_INVALID, "The token was not signed by a key this server knows.")
        if session is None:
            raise AuthError(TOKEN_REVOKED)
        if epoch is None:
            return False
        try:
            current = int(epoch)
        except ValueError:
            log.error("auth:{%s}:epoch holds %r, not an integer: refusing its tokens", token.subject, epoch)
            raise AuthError(UNAVAILABLE) from None
        if token.epoch < current:
            raise AuthError(TOKEN_REVOKED)
        return True

    def _live_kids(self, published: Any) -> frozenset[str]:
        raw, kids = self._published
        if published == raw and raw is not None:
            return kids  # parsed once per change, not once per request
        if published is None:
            log.error("%s is missing from Redis: no auth server has published its keys here (is this the auth "
                      "server's Redis, and does it run a version that publishes them?)", PUBLISHED_KEYS)
            raise AuthError(UNAVAILABLE)
        try:
            document = json.loads(published)
            layout, listed = document["layout"], document["kids"]
        except (ValueError, TypeError, KeyError):
            log.error("%s does not hold layout %d's JSON: refusing every token", PUBLISHED_KEYS, LAYOUT_VERSION)
            raise AuthError(UNAVAILABLE) from None
        if layout != LAYOUT_VERSION:
            log.error("the auth server publishes Redis layout %r; this library reads layout %d: upgrade "
                      "jwt-auth-client (refusing every token until then)", layout, LAYOUT_VERSION)
            raise AuthError(UNAVAILABLE)
        kids = frozenset(kid for kid in listed if isinstance(kid, str))
        self._published = (published, kids)
        return kids


class RedisRevocation:
    """Redis mode for threads (Flask, Django, ...): give it a `redis.Redis` or `redis.cluster.RedisCluster`."""

    def __init__(self, client: Any, *, fallback: RevocationCheck | None = None) -> None:
        from redis.cluster import RedisCluster

        self._client = client
        self._cluster = isinstance(client, RedisCluster)
        self._fallback = fallback
        self._layout = RedisLayout()

    @classmethod
    def from_url(cls, url: str, *, timeout: float = 0.5, fallback: RevocationCheck | None = None) -> RedisRevocation:
        from jwt_auth_client.redis_clients import sync_client

        return cls(sync_client(url, timeout), fallback=fallback)

    def check(self, token: VerifiedToken) -> None:
        keys = self._layout.keys_for(token)
        try:
            values = self._client.mget_nonatomic(keys) if self._cluster else self._client.mget(keys)
        except Exception as exc:  # redis-py's errors, sockets, a cluster without a slot: all mean "cannot tell"
            raise _unavailable(exc) from None
        if not self._layout.judge(token, _decoded(values)):
            if self._fallback is None:
                raise AuthError(TOKEN_REVOKED, UNKNOWN_STATE)
            self._fallback.check(token)

    def close(self) -> None:
        self._client.close()


class AsyncRedisRevocation:
    """Redis mode for asyncio (Tornado, Starlette, FastAPI): a `redis.asyncio.Redis` or `RedisCluster`. The reads
    of requests that arrive together go out as one MGET (`batching.py`); `batch=False` sends one per request."""

    def __init__(self, client: Any, *, fallback: AsyncRevocationCheck | None = None, batch: bool = True) -> None:
        from redis.asyncio.cluster import RedisCluster

        self._client = client
        read = client.mget_nonatomic if isinstance(client, RedisCluster) else client.mget
        self._read = MgetBatcher(read).mget if batch else read
        self._fallback = fallback
        self._layout = RedisLayout()

    @classmethod
    def from_url(cls, url: str, *, timeout: float = 0.5, fallback: AsyncRevocationCheck | None = None,
                 batch: bool = True) -> AsyncRedisRevocation:
        from jwt_auth_client.redis_clients import async_client

        return cls(async_client(url, timeout), fallback=fallback, batch=batch)

    async def check(self, token: VerifiedToken) -> None:
        keys = self._layout.keys_for(token)
        try:
            values = await self._read(keys)
        except Exception as exc:
            raise _unavailable(exc) from None
        if not self._layout.judge(token, _decoded(values)):
            if self._fallback is None:
                raise AuthError(TOKEN_REVOKED, UNKNOWN_STATE)
            await self._fallback.check(token)

    async def aclose(self) -> None:
        await self._client.aclose()


def _decoded(values: Sequence[Any]) -> list[Any]:
    return [value.decode() if isinstance(value, bytes) else value for value in values]


def _unavailable(exc: Exception) -> AuthError:
    log.warning("Redis cannot tell whether a token is revoked (%s: %s): refusing it", type(exc).__name__, exc)
    return AuthError(UNAVAILABLE)
