"""Sign up, log in and refresh: the endpoints that hand out tokens."""

from __future__ import annotations

from typing import Any

from handlers.base import BaseHandler
from services.logins import TokenPair
from services.users import User


def login_answer(user: User, tokens: TokenPair) -> dict[str, Any]:
    """The seed's login answer: the user with its `tokens`; social sign-ins answer the same."""
    return {
        "created_at": user.created_at,
        "email": user.email,
        "email_verified": user.email_verified,
        "name": user.name,
        "status": "success",
        "tokens": {"access_token": tokens.access.token, "refresh_token": tokens.refresh.token},
        "uid": user.uid,
        "updated_at": user.updated_at,
    }


class SignupHandler(BaseHandler):
    async def post(self) -> None:
        await self.rate_limit("signup")
        body = self.json_body()
        self.write_outcome(await self.services.accounts.signup(body.text("name"), body.text("email"),
                                                               body.text("password"), self.client))


class LoginHandler(BaseHandler):
    async def post(self) -> None:
        await self.rate_limit("token")
        body = self.json_body()
        # A token of the account's own live session lets its owner past a lock strangers caused.
        user, tokens = await self.services.logins.login(
            body.text("email"), body.text("password"), fresh=body.flag("fresh_token"), client=self.client,
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
        tokens = await self.services.logins.refresh(token, self.client)
        self.write_json({"access_token": tokens.access.token, "exp": tokens.access.expires_at,
                         "refresh_token": tokens.refresh.token, "status": "success"})

    post = get
