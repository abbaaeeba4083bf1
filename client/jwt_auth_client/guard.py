"""A guard: the token from the request's header, verified, and checked for revocation, in one call.

The token comes as the auth server takes it: `Authorization: Bearer <jwt>` or the seed's `python-auth: Bearer
<jwt>` (both names by default). `revocation` must be named: a redis or introspection check for instant
revocation, or None for signature and claims only, an explicit choice (then a logged-out user's token works
here until it expires).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from jwt_auth_client.requirements import Requirement, check_all
from jwt_auth_client.revocation import AsyncRevocationCheck, RevocationCheck
from jwt_auth_client.token import VerifiedToken
from jwt_auth_client.verifier import TokenVerifier

DEFAULT_HEADERS = ("Authorization", "python-auth")


def bearer_token(headers: Mapping[str, str], names: Iterable[str] = DEFAULT_HEADERS,
                 scheme: str = "Bearer") -> str | None:
    """The token of the first of `names` that carries `<scheme> <token>`; frameworks' header maps ignore case."""
    for name in names:
        value = headers.get(name)
        if value:
            found, _, token = value.strip().partition(" ")
            if found.lower() == scheme.lower() and token.strip():
                return token.strip()
    return None


class Guard:
    """For threaded apps (Flask, Django, ...)."""

    def __init__(self, verifier: TokenVerifier, *, revocation: RevocationCheck | None,
                 header_names: Iterable[str] = DEFAULT_HEADERS, scheme: str = "Bearer") -> None:
        self.verifier = verifier
        self.revocation = revocation
        self._names = tuple(header_names)
        self._scheme = scheme

    def authenticate(self, headers: Mapping[str, str], requirements: Iterable[Requirement] = ()) -> VerifiedToken:
        return check_all(self.verify(bearer_token(headers, self._names, self._scheme)), requirements)

    def verify(self, token: str | None) -> VerifiedToken:
        verified = self.verifier.verify(token)
        if self.revocation is not None:
            self.revocation.check(verified)
        return verified


class AsyncGuard:
    """For asyncio apps (Tornado, Starlette, FastAPI, ...)."""

    def __init__(self, verifier: TokenVerifier, *, revocation: AsyncRevocationCheck | None,
                 header_names: Iterable[str] = DEFAULT_HEADERS, scheme: str = "Bearer") -> None:
        self.verifier = verifier
        self.revocation = revocation
        self._names = tuple(header_names)
        self._scheme = scheme

    async def authenticate(self, headers: Mapping[str, str],
                           requirements: Iterable[Requirement] = ()) -> VerifiedToken:
        return check_all(await self.verify(bearer_token(headers, self._names, self._scheme)), requirements)

    async def verify(self, token: str | None) -> VerifiedToken:
        verified = await self.verifier.verify_async(token)
        if self.revocation is not None:
            await self.revocation.check(verified)
        return verified
