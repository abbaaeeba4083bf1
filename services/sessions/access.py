"""The access token of a session: our claims (services/tokens), the user's `app_metadata`, and what a
`custom_access_token` hook adds (services/hooks/), signed in that order.

Every access token is made here, at a login, a refresh or a step-up alike, so a role an admin gives takes effect
at the user's next refresh (the token in hand keeps the claims it was signed with until it expires:
JWT_ACCESS_TOKEN_LIFETIME), and a user without metadata gets exactly the token of before.
"""

from __future__ import annotations

from typing import Any, Protocol

from services.tokens import Assurance, IssuedToken, TokenService
from services.users import User

APP_METADATA_CLAIM = "app_metadata"


class ClaimsHook(Protocol):
    async def claims(self, user: User, claims: dict[str, Any]) -> dict[str, Any]:
        """The claims to sign: `claims` with what the hook adds, none of ours replaced."""


class AccessTokens:
    def __init__(self, *, tokens: TokenService, hook: ClaimsHook | None = None) -> None:
        self._tokens = tokens
        self._hook = hook

    async def issue(self, user: User, epoch: int, session_id: str, *, fresh: bool = False,
                    assurance: Assurance | None = None) -> IssuedToken:
        extra = {APP_METADATA_CLAIM: user.app_metadata} if user.app_metadata else None
        claims = self._tokens.claims(user.uid, "access_token", epoch, session_id, fresh, assurance=assurance,
                                     extra_claims=extra)
        if self._hook is not None:
            claims = await self._hook.claims(user, claims)
        return self._tokens.sign(claims)
