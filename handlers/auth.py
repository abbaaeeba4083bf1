"""Sign up, log in and refresh: the endpoints that hand out tokens."""

from __future__ import annotations

from handlers.base import BaseHandler
from services.errors import USER_REGISTERED


class SignupHandler(BaseHandler):
    async def post(self) -> None:
        body = self.json_body()
        await self.services.accounts.signup(body.text("name"), body.text("email"), body.text("password"))
        self.write_outcome(USER_REGISTERED)


class LoginHandler(BaseHandler):
    async def post(self) -> None:
        body = self.json_body()
        user, tokens = await self.services.accounts.login(
            body.text("email"), body.text("password"), fresh=body.flag("fresh_token")
        )
        self.write_json({
            "created_at": user.created_at,
            "email": user.email,
            "email_verified": user.email_verified,
            "name": user.name,
            "status": "success",
            "tokens": {"access_token": tokens.access.token, "refresh_token": tokens.refresh.token},
            "uid": user.uid,
            "updated_at": user.updated_at,
        })


class RefreshHandler(BaseHandler):
    """The seed sends `{"token": ...}` as the body of a GET; POST and `?token=` work as well."""

    async def get(self) -> None:
        token = self.get_query_argument("token", None)
        if token is None:
            token = self.json_body(allow_empty=True).optional_text("token")
        access = await self.services.accounts.refresh(token)
        self.write_json({"access_token": access.token, "exp": access.expires_at, "status": "success"})

    post = get
