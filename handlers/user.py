"""The signed-in user's own account: read it, change name, email or password, export it, delete it."""

from __future__ import annotations

from handlers.base import BaseHandler
from services.errors import (
    ACCOUNT_DELETED,
    CHANGED_EMAIL,
    CHANGED_NAME,
    CHANGED_PASSWORD,
    NOTHING_TO_CHANGE,
    AuthError,
)

CHANGEABLE = ("name", "email", "password")


class UserHandler(BaseHandler):
    async def get(self) -> None:
        user = (await self.identity()).user
        # The seed's GET /user shows the timestamps as strings; kept so seed clients parse them unchanged.
        self.write_json({
            "created_at": str(user.created_at),
            "email": user.email,
            "email_verified": user.email_verified,
            "name": user.name,
            "picture": await self.services.pictures.url(user),
            "status": "success",
            "uid": user.uid,
            "updated_at": str(user.updated_at),
        })

    async def patch(self) -> None:
        identity = await self.identity()
        body = self.json_body()
        fields = [name for name in CHANGEABLE if name in body]
        if len(fields) != 1:
            raise AuthError(NOTHING_TO_CHANGE)
        accounts = self.services.accounts
        if fields == ["name"]:
            await accounts.change_name(identity, body.text("name"))
            self.write_outcome(CHANGED_NAME)
        elif fields == ["email"]:
            await accounts.change_email(identity, body.text("email"), self.client)
            self.write_outcome(CHANGED_EMAIL)
        else:
            tokens = await accounts.change_password(identity, body.text("password"), self.client)
            # Every earlier token, this one included, has ended: the caller carries on with these.
            self.write_outcome(CHANGED_PASSWORD, tokens={"access_token": tokens.access.token,
                                                         "refresh_token": tokens.refresh.token})

    async def delete(self) -> None:
        """The account and everything stored with it; needs a token from a `fresh_token: true` login."""
        await self.services.lifecycle.delete_account(await self.identity(), self.client)
        self.write_outcome(ACCOUNT_DELETED)


class ExportHandler(BaseHandler):
    async def get(self) -> None:
        identity = await self.identity()
        export = await self.services.lifecycle.export(identity.user, identity.claims.session_id)
        self.set_header("Content-Disposition", 'attachment; filename="account-export.json"')
        self.write_json({**export, "status": "success"})
