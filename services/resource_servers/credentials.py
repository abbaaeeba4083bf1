"""Who may introspect: the one seam between `POST /oauth/introspect` and the keys that open it.

Two kinds of key open it (RFC 7662 section 2.1 leaves the choice to the server): an admin key of the admin API
with the scope `introspect` (`python server.py admin-keys create --scopes introspect`, services/admin), the way
to hand one to each resource server and revoke it alone, and the static keys of `INTROSPECTION_KEYS`, for a
deployment that configures its keys in files. The check is async because the admin keys live in Redis.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from typing import Protocol

from services.outcomes import AuthError

INTROSPECT_SCOPE = "introspect"


class IntrospectionCredentials(Protocol):
    async def check(self, presented: str | None) -> bool:
        """Whether `presented` (the key a resource server sent, or None) may introspect tokens."""
        ...


class ConfiguredIntrospectionKeys:
    """The keys of `INTROSPECTION_KEYS`, kept only as SHA-256 digests and compared in constant time."""

    def __init__(self, keys: Iterable[str]) -> None:
        self._digests = [_digest(key) for key in keys]

    async def check(self, presented: str | None) -> bool:
        if not presented:
            return False
        digest = _digest(presented)
        matched = False
        for known in self._digests:  # every key is compared: the time taken says nothing about which matched
            matched |= hmac.compare_digest(digest, known)
        return matched



class ScopedKeyCheck(Protocol):
    async def check(self, presented: str | None, scope: str) -> object:
        """The key's record if it may do `scope`; raises AuthError (401 or 403) otherwise (services/admin)."""
        ...


class AdminIntrospectionKeys:
    """Admin keys that carry the scope `introspect`; any other key, or none, may not introspect."""

    def __init__(self, keys: ScopedKeyCheck) -> None:
        self._keys = keys

    async def check(self, presented: str | None) -> bool:
        if not presented:
            return False
        try:
            await self._keys.check(presented, INTROSPECT_SCOPE)
        except AuthError:  # unknown, revoked, a user's token, or a key without the scope: the same 401 (RFC 7662)
            return False
        return True


class AnyIntrospectionKeys:
    """A key of any of `credentials` opens introspection: each is asked in turn until one accepts."""

    def __init__(self, *credentials: IntrospectionCredentials) -> None:
        self._credentials = credentials

    async def check(self, presented: str | None) -> bool:
        for credentials in self._credentials:
            if await credentials.check(presented):
                return True
        return False

def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()
