"""Token introspection (RFC 7662): is this token live right now, and what does it say?

"Live" is exactly what this server's own endpoints accept (services/sessions, Authenticator): a good signature
and claims, a session that still exists, an epoch not older than the user's, a user not disabled; a refresh
token counts while its session would still refresh with it. Anything else, whatever the reason, is exactly
`{"active": false}` (§2.2: the answer must not say why).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from services.outcomes import ADMIN_KEY_REQUIRED, AuthError
from services.resource_servers.credentials import IntrospectionCredentials
from services.sessions import Authenticator

INACTIVE: Mapping[str, Any] = MappingProxyType({"active": False})
# Claims other issues add to access tokens (aal and amr with the second factor, app_metadata with the admin
# API): passed on whenever a token carries them, so resource servers can decide on them.
_PASSED_ON = ("aal", "amr", "app_metadata")


class TokenIntrospection:
    def __init__(self, *, authenticator: Authenticator, credentials: IntrospectionCredentials) -> None:
        self._authenticator = authenticator
        self._credentials = credentials

    async def authorize(self, presented: str | None) -> None:
        """Only resource servers holding a key may ask (RFC 7662 §2.1), else tokens could be probed by anyone."""
        if not await self._credentials.check(presented):
            raise AuthError(ADMIN_KEY_REQUIRED)

    async def introspect(self, token: str | None) -> Mapping[str, Any]:
        """`token_type_hint` is not needed: a token's `typ` header says what it is (§2.1 lets us ignore it)."""
        caller = await self._authenticator.live_holder(token)
        if caller is None or token is None:
            return INACTIVE
        claims = caller.claims
        payload = _verified_payload(token)
        answer: dict[str, Any] = {
            "active": True, "sub": claims.subject, "exp": claims.expires_at, "iat": claims.issued_at,
            "nbf": payload["nbf"], "iss": payload["iss"], "aud": payload["aud"], "jti": claims.token_id,
            "sid": claims.session_id,
            # RFC 7662 §2.2: the OAuth token type; which of our tokens it is goes in `token_use`, as Ory Hydra has it.
            "token_type": "Bearer", "token_use": claims.token_type,
        }
        answer.update({name: payload[name] for name in _PASSED_ON if name in payload})
        return answer


def _verified_payload(token: str) -> dict[str, Any]:
    """The claims of a token the authenticator has just verified: only decoded, never trusted on its own."""
    body = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
