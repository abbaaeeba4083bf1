"""Passwordless sign-in over the JSON API: ask for a code (`POST /otp`), sign in with it or with a magic link's token
(apps that open the link themselves), anonymous sign-up, and the account's phone number. The link's page is
handlers/magic_link.py."""

from __future__ import annotations

from handlers.answers import login_answer
from handlers.base import BaseHandler
from services.outcomes import OTP_SENT, PHONE_REMOVED, PHONE_VERIFIED


class OtpHandler(BaseHandler):
    """`{email}` or `{phone}`, `create_user?`, `redirect_to?`, `fresh_token?`: the same answer for every address."""

    async def post(self) -> None:
        await self.rate_limit("otp")
        body = self.json_body()
        await self.services.passwordless.sign_in.send(
            body.optional_text("email"), body.optional_text("phone"), body.optional_flag("create_user"),
            body.optional_text("redirect_to"), fresh=body.flag("fresh_token"), client=self.captcha_client(body))
        self.write_outcome(OTP_SENT)


class OtpVerifyHandler(BaseHandler):
    async def post(self) -> None:
        await self.rate_limit("token")
        body = self.json_body()
        user, tokens = await self.services.passwordless.sign_in.verify_code(
            body.optional_text("email"), body.optional_text("phone"), body.text("code"),
            fresh=body.flag("fresh_token"), client=self.client)
        self.write_json(login_answer(user, tokens))


class MagicLinkVerifyHandler(BaseHandler):
    """The magic link's token, for apps that open the link themselves (universal links, app links)."""

    async def post(self) -> None:
        await self.rate_limit("token")
        body = self.json_body()
        user, tokens, _ = await self.services.passwordless.sign_in.verify_link(
            body.text("token"), body.optional_flag("fresh_token"), self.client)
        self.write_json(login_answer(user, tokens))


class AnonymousSignupHandler(BaseHandler):
    async def post(self) -> None:
        await self.rate_limit("anonymous")
        body = self.json_body(allow_empty=True)
        user, tokens = await self.services.passwordless.anonymous.sign_up(self.captcha_client(body))
        self.write_json(login_answer(user, tokens))


class PhoneVerifyHandler(BaseHandler):
    """`{code}`: the code texted to the number `PATCH /user {"phone"}` asked for; the number is set."""

    async def post(self) -> None:
        caller = await self.caller()
        await self.services.passwordless.phone.confirm_change(caller, self.json_body().text("code"), self.client)
        self.write_outcome(PHONE_VERIFIED)


class PhoneHandler(BaseHandler):
    async def delete(self) -> None:
        await self.services.passwordless.phone.remove(await self.caller(), self.client)
        self.write_outcome(PHONE_REMOVED)
