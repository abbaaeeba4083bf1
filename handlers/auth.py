"""Sign up, log in and refresh: the endpoints that hand out tokens."""

from __future__ import annotations

from handlers.answers import login_answer, refresh_answer
from handlers.base import BaseHandler


class SignupHandler(BaseHandler):
    async def post(self) -> None:
        await self.rate_limit("signup")
        body = self.json_body()
        self.write_outcome(await self.services.accounts.manager.signup(
            body.text("name"), body.text("email"), body.text("password"), self.captcha_client(body)))


class LoginHandler(BaseHandler):
    async def post(self) -> None:
        await self.rate_limit("token")
        body = self.json_body()
        # A token of the account's own live session lets its owner past a lock strangers caused.
        user, tokens = await self.services.accounts.password_login.login(
            body.text("email"), body.text("password"), fresh=body.flag("fresh_token"), client=self.captcha_client(body),
            known_token=self.bearer_token(),
        )
        self.write_json(login_answer(user, tokens))


class RefreshHandler(BaseHandler):
    """The seed sends `{"token": ...}` as the body of a GET; POST and `?token=` work as well.

    The answer keeps the seed's fields and adds the rotated `refresh_token`: clients should store it.
    """

    async def get(self) -> None:
        await self.rate_limit("token")
        token = self.get_query_argument("token", None)
        if token is None:
            token = self.json_body(allow_empty=True).optional_text("token")
        self.write_json(refresh_answer(await self.services.sessions.refresh.refresh(token, self.client)))

    post = get
