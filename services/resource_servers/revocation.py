"""Token revocation (RFC 7009) for public clients: a mobile app hands back its own token to end its session.

The answer is the same for every token, known or not, live or not (§2.2), so it tells nothing. Only a token that
still vouches for its holder ends anything: a live access token, or a refresh token its session would still
honour. A stale copy found in a log cannot end somebody's session. When Redis or MongoDB cannot answer, that
is a 503 (§2.2.1), never a success the client would take for a logout.
"""

from __future__ import annotations

from services.sessions import Authenticator, SessionService


class TokenRevocation:
    def __init__(self, *, authenticator: Authenticator, sessions: SessionService) -> None:
        self._authenticator = authenticator
        self._sessions = sessions

    async def revoke(self, token: str | None, ip: str) -> None:
        """End the session `token` belongs to, if it is live: both halves of the login stop working at once."""
        caller = await self._authenticator.live_holder(token)
        if caller is not None:
            await self._sessions.logout(caller, ip)
