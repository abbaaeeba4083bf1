"""The seam between verifying a token and knowing it is still live: redis mode, introspection mode, or your own."""

from __future__ import annotations

from typing import Protocol

from jwt_auth_client.token import VerifiedToken


class RevocationCheck(Protocol):
    def check(self, token: VerifiedToken) -> None:
        """Return when `token` is live right now; raise AuthError (401 revoked, 503 cannot tell) otherwise."""
        ...


class AsyncRevocationCheck(Protocol):
    async def check(self, token: VerifiedToken) -> None:
        """As RevocationCheck.check, for asyncio applications."""
        ...
