"""Introspection mode: ask the auth server's `POST /oauth/introspect` (RFC 7662) whether a token is live.

The token is verified here first (signature and claims), so a forged one never costs the auth server a call.
By default every request asks, so a revocation shows on the very next request. With `cache_seconds`, an active
answer is reused for that long at most (never past the token's `exp`): that is how late a revocation may then be
seen, so it is capped at 10 seconds. An inactive answer is final (a revoked token never comes
back) and remembered as inactive. A failed call (timeout, 5xx, a refused key) is never remembered and is 503
`auth/unavailable`: the token is refused, not allowed, and the next request asks again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from typing import Any

from jwt_auth_client.errors import TOKEN_REVOKED, UNAVAILABLE, AuthError
from jwt_auth_client.token import VerifiedToken

log = logging.getLogger("jwt_auth_client")

MAX_CACHE_SECONDS = 10.0


class AnswerCache:
    """Recent answers by token: True (active) or False (inactive), each with its own expiry, oldest dropped first."""

    def __init__(self, seconds: float, size: int) -> None:
        if not 0 <= seconds <= MAX_CACHE_SECONDS:
            raise ValueError(f"cache_seconds must be between 0 and {MAX_CACHE_SECONDS:g}: it is how late a "
                             "revocation may be seen")
        self._seconds = seconds
        self._size = size
        self._answers: OrderedDict[str, tuple[bool, float]] = OrderedDict()

    def get(self, token: VerifiedToken) -> bool | None:
        entry = self._answers.get(token.raw)
        if entry is None:
            return None
        active, until = entry
        if time.monotonic() >= until:
            del self._answers[token.raw]
            return None
        return active

    def put(self, token: VerifiedToken, active: bool) -> None:
        if self._seconds <= 0:
            return
        until = time.monotonic() + min(self._seconds, max(0.0, token.expires_at - time.time()))
        self._answers[token.raw] = (active, until)
        self._answers.move_to_end(token.raw)
        if len(self._answers) > self._size:
            self._answers.popitem(last=False)


def judge(token: VerifiedToken, status: int, answer: Any) -> bool:
    """Whether the auth server says the token is live; AuthError(UNAVAILABLE) when the answer says nothing."""
    if status in (401, 403):
        log.error("the auth server refused the introspection key (HTTP %d): check INTROSPECTION_KEYS", status)
        raise AuthError(UNAVAILABLE)
    if status != 200 or not isinstance(answer, dict) or not isinstance(answer.get("active"), bool):
        log.warning("introspection answered HTTP %d without an answer: refusing the token", status)
        raise AuthError(UNAVAILABLE)
    if not answer["active"]:
        return False
    # An active answer must be about this very token: never trust one that describes another.
    return (answer.get("sub") == token.subject and answer.get("jti") == token.token_id
            and answer.get("token_use", "access_token") == "access_token")


class _Introspection:
    def __init__(self, url: str, key: str, cache_seconds: float, cache_size: int) -> None:
        self.url = url
        self._headers = {"Authorization": f"Bearer {key}", "Accept": "application/json"}
        self._cache = AnswerCache(cache_seconds, cache_size)

    def _form(self, token: VerifiedToken) -> dict[str, str]:
        return {"token": token.raw, "token_type_hint": "access_token"}

    def _settle(self, token: VerifiedToken, active: bool) -> None:
        self._cache.put(token, active)
        if not active:
            raise AuthError(TOKEN_REVOKED)


class IntrospectionRevocation(_Introspection):
    """Introspection mode for threads (Flask, ...), over an `httpx.Client` (made for you unless you pass one)."""

    def __init__(self, url: str, key: str, *, cache_seconds: float = 0.0, timeout: float = 2.0,
                 cache_size: int = 50_000, client: Any = None) -> None:
        import httpx

        super().__init__(url, key, cache_seconds, cache_size)
        self._client = client or httpx.Client(timeout=timeout)

    def check(self, token: VerifiedToken) -> None:
        cached = self._cache.get(token)
        if cached is not None:
            return self._settle(token, cached)
        try:
            response = self._client.post(self.url, data=self._form(token), headers=self._headers)
            status, answer = response.status_code, _json(response)
        except Exception as exc:  # a timeout, a refused connection, a broken answer: cannot tell
            log.warning("introspection failed (%s: %s): refusing the token", type(exc).__name__, exc)
            raise AuthError(UNAVAILABLE) from None
        self._settle(token, judge(token, status, answer))

    def close(self) -> None:
        self._client.close()


class AsyncIntrospectionRevocation(_Introspection):
    """Introspection mode for asyncio, over an `httpx.AsyncClient`; concurrent requests with the same token
    share one call."""

    def __init__(self, url: str, key: str, *, cache_seconds: float = 0.0, timeout: float = 2.0,
                 cache_size: int = 50_000, client: Any = None) -> None:
        import httpx

        super().__init__(url, key, cache_seconds, cache_size)
        self._client = client or httpx.AsyncClient(timeout=timeout)
        self._asking: dict[str, asyncio.Future[bool]] = {}

    async def check(self, token: VerifiedToken) -> None:
        cached = self._cache.get(token)
        if cached is not None:
            return self._settle(token, cached)
        asking = self._asking.get(token.raw)
        if asking is None:
            asking = self._asking[token.raw] = asyncio.ensure_future(self._ask(token))
            asking.add_done_callback(lambda done: self._asked(token.raw, done))
        self._settle(token, await asyncio.shield(asking))

    def _asked(self, raw: str, done: asyncio.Future[bool]) -> None:
        self._asking.pop(raw, None)
        if not done.cancelled():
            done.exception()  # retrieved here too, in case every waiter was cancelled meanwhile

    async def _ask(self, token: VerifiedToken) -> bool:
        try:
            response = await self._client.post(self.url, data=self._form(token), headers=self._headers)
            status, answer = response.status_code, _json(response)
        except Exception as exc:
            log.warning("introspection failed (%s: %s): refusing the token", type(exc).__name__, exc)
            raise AuthError(UNAVAILABLE) from None
        return judge(token, status, answer)

    async def aclose(self) -> None:
        await self._client.aclose()


def _json(response: Any) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
