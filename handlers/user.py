"""The signed-in user's own account: read it, change name, email, password or phone number, export it, delete it, and
see or withdraw a pending address change."""

from __future__ import annotations

from handlers.answers import token_pair, user_answer
from handlers.base import BaseHandler
from services.outcomes import (
    ACCOUNT_DELETED,
    CHANGED_EMAIL,
    CHANGED_NAME,
    CHANGED_PASSWORD,
    CHANGED_USER_METADATA,
    EMAIL_CHANGE_CANCELLED,
    NOTHING_TO_CHANGE,
    AuthError,
)

CHANGEABLE = ("name", "email", "password", "phone", "user_metadata")


class UserHandler(BaseHandler):
    async def get(self) -> None:
        user = (await self.caller()).user
        self.write_json(user_answer(user, await self.services.pictures.manager.url(user)))

    async def patch(self) -> None:
        caller = await self.caller()
        body = self.json_body()
        fields = [name for name in CHANGEABLE if name in body]
        if len(fields) != 1:
            raise AuthError(NOTHING_TO_CHANGE)
        accounts = self.services.accounts.manager
        if fields == ["name"]:
            await accounts.change_name(caller, body.text("name"))
            self.write_outcome(CHANGED_NAME)
        elif fields == ["user_metadata"]:
            await accounts.change_user_metadata(caller, body.object("user_metadata"))
            self.write_outcome(CHANGED_USER_METADATA)
        elif fields == ["email"]:
            # The seed's answer; the change itself waits for the mailboxes (services/accounts/email_change.py).
            await self.services.accounts.email_change.request(caller, body.text("email"), self.client)
            self.write_outcome(CHANGED_EMAIL)
        elif fields == ["phone"]:  # a code to the new number; it is set by POST /user/phone/verify
            await self.rate_limit("otp")
            self.write_outcome(await self.services.passwordless.phone.request_change(caller, body.text("phone"),
                                                                                      self.client))
        else:
            tokens = await accounts.change_password(caller, body.text("password"), self.client)
            # Every earlier token, this one included, has ended: the caller carries on with these.
            self.write_outcome(CHANGED_PASSWORD, tokens=token_pair(tokens))

    async def delete(self) -> None:
        """The account and everything stored with it; needs a token from a `fresh_token: true` login."""
        await self.services.accounts.lifecycle.delete_account(await self.caller(), self.client)
        self.write_outcome(ACCOUNT_DELETED)


class ExportHandler(BaseHandler):
    async def get(self) -> None:
        caller = await self.caller()
        export = await self.services.accounts.lifecycle.export(caller.user, caller.session_id)
        self.set_header("Content-Disposition", 'attachment; filename="account-export.json"')
        self.write_json({**export, "status": "success"})


class EmailChangeHandler(BaseHandler):
    """`GET /user/email-change`: the pending change, or null; `DELETE` withdraws it."""

    async def get(self) -> None:
        pending = self.services.accounts.email_change.pending(await self.caller())
        self.write_json({"email_change": pending.public() if pending else None, "status": "success"})

    async def delete(self) -> None:
        await self.services.accounts.email_change.withdraw(await self.caller(), self.client)
        self.write_outcome(EMAIL_CHANGE_CANCELLED)
