"""Email verification, password reset and address changes over the JSON API (the mailed links open the pages in
handlers/pages.py).

`/verify`, `/password/reset` and `/email-change/confirm|cancel` take the token from a mailed link, for apps that
open the links themselves.
"""

from __future__ import annotations

from handlers.base import BaseHandler
from services.outcomes import EMAIL_CHANGE_CANCELLED, EMAIL_VERIFIED, PASSWORD_RESET, RESET_SENT


class ResendVerificationHandler(BaseHandler):
    """`{email}` without a token, answered alike for every address; or just an access token."""

    async def post(self) -> None:
        await self.rate_limit("mail")
        body = self.json_body(allow_empty=True)
        caller = await self.caller() if self.bearer_token() else None
        self.write_outcome(await self.services.accounts.verification.resend(body.optional_text("email"), caller))


class VerifyEmailHandler(BaseHandler):
    async def post(self) -> None:
        await self.services.accounts.verification.confirm(self.json_body().text("token"), self.client.ip)
        self.write_outcome(EMAIL_VERIFIED)


class ForgotPasswordHandler(BaseHandler):
    async def post(self) -> None:
        await self.rate_limit("mail")
        body = self.json_body()
        await self.services.accounts.recovery.forgot(body.text("email"), self.captcha_client(body))
        self.write_outcome(RESET_SENT)


class ResetPasswordHandler(BaseHandler):
    async def post(self) -> None:
        body = self.json_body()
        await self.services.accounts.recovery.reset(body.text("token"), body.text("password"),
                                                    body.optional_text("password_confirmation"), self.client)
        self.write_outcome(PASSWORD_RESET)


class ConfirmEmailChangeHandler(BaseHandler):
    """Either address's confirmation link: `auth/email-change-confirmed` while the other address has yet to
    confirm, `auth/email-change-completed` once the account has its new address."""

    async def post(self) -> None:
        outcome, _ = await self.services.accounts.email_change.confirm(self.json_body().text("token"), self.client.ip)
        self.write_outcome(outcome)


class CancelEmailChangeHandler(BaseHandler):
    async def post(self) -> None:
        await self.services.accounts.email_change.cancel(self.json_body().text("token"), self.client.ip)
        self.write_outcome(EMAIL_CHANGE_CANCELLED)
