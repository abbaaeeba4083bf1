"""The browser flow's short-lived secrets (where the browser may go back to is services/social/redirects.py).

Each `GET /authorize/<provider>` leaves a record in Redis under a random `state` (RFC 6749 §10.12): the
provider it is for, the PKCE verifier (RFC 7636), the OIDC nonce, the allow-listed `redirect_to`, and,
when a signed-in user is linking a provider, that user's id. The callback takes the record with GETDEL:
a state works once, within `SOCIAL_STATE_TTL_SECONDS`, and only for the provider it was made for.
Redis holds a hash of the state as the key, so a copy of the database does not hand out live states.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import asdict, dataclass
from typing import Any

from services.infra import redis_guarded


@dataclass(frozen=True)
class PendingSignIn:
    provider: str
    verifier: str  # PKCE code_verifier; only its S256 challenge travels to the provider
    nonce: str
    redirect_to: str
    link_uid: str | None = None
    fresh: bool = False

    @property
    def code_challenge(self) -> str:
        digest = hashlib.sha256(self.verifier.encode("ascii")).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class SignInStates:
    def __init__(self, redis: Any, ttl_seconds: int) -> None:
        self._redis = redis
        self._ttl = ttl_seconds

    @property
    def ttl(self) -> int:
        return self._ttl

    @staticmethod
    def key(state: str) -> str:
        return f"auth:oauth-state:{hashlib.sha256(state.encode()).hexdigest()}"

    @staticmethod
    def new_pending(provider: str, redirect_to: str, link_uid: str | None, fresh: bool) -> PendingSignIn:
        return PendingSignIn(provider=provider, verifier=secrets.token_urlsafe(48), nonce=secrets.token_urlsafe(24),
                             redirect_to=redirect_to, link_uid=link_uid, fresh=fresh)

    async def save(self, pending: PendingSignIn) -> str:
        state = secrets.token_urlsafe(32)
        await redis_guarded(self._redis.set(self.key(state), json.dumps(asdict(pending)), ex=self._ttl))
        return state

    async def take(self, state: str) -> PendingSignIn | None:
        """The record for `state`, deleted in the same step: a replayed callback finds nothing."""
        if not state or len(state) > 128:
            return None
        raw = await redis_guarded(self._redis.getdel(self.key(state)))
        return PendingSignIn(**json.loads(raw)) if raw else None

