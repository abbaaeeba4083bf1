"""Who may introspect: the one seam between `POST /oauth/introspect` and the keys that open it.

Today the keys are the `INTROSPECTION_KEYS` setting. The admin API (issue 17) brings `pja_` admin keys with
scopes; its key store then implements `IntrospectionCredentials` for the scope `introspect`, and the one line
that builds `ConfiguredIntrospectionKeys` in services/wiring/resource_servers.py changes. The check is async
because that store will need I/O.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from typing import Protocol


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


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()
