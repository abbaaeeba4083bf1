"""The access token of a session: our claims (services/tokens), what the user document says of its user
(`app_metadata`, `is_anonymous`), and what a `custom_access_token` hook adds (services/hooks/), signed in that
order.

Every access token is made here, at a login, a refresh or a step-up alike, so a role an admin gives takes effect
at the user's next refresh (the token in hand keeps the claims it was signed with until it expires:
JWT_ACCESS_TOKEN_LIFETIME), and a user without metadata gets exactly the token of before.
"""

from __future__ import annotations

from typing import Any, Protocol

from services.tokens import Assurance, IssuedToken, TokenService
from services.users import User

APP_METADATA_CLAIM = "app_metadata"


def user_claims(user: User) -> dict[str, Any]:
    """What every access token says about its user beyond what the checks read, only when there is something to say
    (a seed user's token stays as it was): `app_metadata` (roles an admin gave), and `is_anonymous` for an anonymous
    account (the claim GoTrue's tokens carry). Read afresh at each issue and refresh, so an account made a full one
    gets tokens without it from its next refresh on."""
    claims: dict[str, Any] = {}
    if user.app_metadata:
        claims[APP_METADATA_CLAIM] = user.app_metadata
    if user.is_anonymous:
        claims["is_anonymous"] = True
    return claims


class ClaimsHook(Protocol):
    async def claims(self, user: User, claims: dict[str, Any]) -> dict[str, Any]:
        """The claims to sign: `claims` with what the hook adds, none of ours replaced."""


class AccessTokens:
    def __init__(self, *, tokens: TokenService, hook: ClaimsHook | None = None) -> None:
        self._tokens = tokens
        self._hook = hook

    async def issue(self, user: User, epoch: int, session_id: str, *, fresh: bool = False,
                    assurance: Assurance | None = None) -> IssuedToken:
        claims = self._tokens.claims(user.uid, "access_token", epoch, session_id, fresh, assurance=assurance,
                                     extra_claims=user_claims(user) or None)
        if self._hook is not None:
            claims = await self._hook.claims(user, claims)
        return self._tokens.sign(claims)
