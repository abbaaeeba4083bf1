"""The signed-in user's sessions (one per login): list them, end one, log out here or everywhere."""

from __future__ import annotations

from handlers.base import BaseHandler
from services.outcomes import LOGGED_OUT, LOGGED_OUT_EVERYWHERE, SESSION_REVOKED


class SessionsHandler(BaseHandler):
    async def get(self) -> None:
        caller = await self.caller()
        sessions = await self.services.sessions.manager.list(caller.uid)
        self.write_json({"sessions": [s.public(caller.session_id) for s in sessions], "status": "success"})


class SessionHandler(BaseHandler):
    async def delete(self, session_id: str) -> None:
        await self.services.sessions.manager.end(await self.caller(), session_id, self.client.ip)
        self.write_outcome(SESSION_REVOKED)


class LogoutHandler(BaseHandler):
    async def post(self) -> None:
        await self.services.sessions.manager.logout(await self.caller(before_second_factor=True), self.client.ip)
        self.write_outcome(LOGGED_OUT)


class LogoutEverywhereHandler(BaseHandler):
    async def post(self) -> None:
        await self.services.sessions.manager.logout_everywhere(await self.caller(), self.client.ip)
        self.write_outcome(LOGGED_OUT_EVERYWHERE)
