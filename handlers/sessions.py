"""The signed-in user's sessions (one per login): list them, end one, log out here or everywhere."""

from __future__ import annotations

from handlers.base import BaseHandler
from services.errors import LOGGED_OUT, LOGGED_OUT_EVERYWHERE, SESSION_REVOKED


class SessionsHandler(BaseHandler):
    async def get(self) -> None:
        identity = await self.identity()
        sessions = await self.services.logins.sessions(identity)
        self.write_json({"sessions": [s.public(identity.claims.session_id) for s in sessions], "status": "success"})


class SessionHandler(BaseHandler):
    async def delete(self, session_id: str) -> None:
        identity = await self.identity()
        await self.services.logins.end_session(identity, session_id, self.client.ip)
        self.write_outcome(SESSION_REVOKED)


class LogoutHandler(BaseHandler):
    async def post(self) -> None:
        await self.services.logins.logout(await self.identity(), self.client.ip)
        self.write_outcome(LOGGED_OUT)


class LogoutEverywhereHandler(BaseHandler):
    async def post(self) -> None:
        await self.services.logins.logout_everywhere(await self.identity(), self.client.ip)
        self.write_outcome(LOGGED_OUT_EVERYWHERE)
