"""Second factors: the signed-in user's factors and recovery codes (`/user/mfa...`), and the second step of a login
(`/mfa/challenge`, `/mfa/verify`), which aal1 tokens of a user with a factor may reach."""

from __future__ import annotations

from handlers.answers import login_answer, token_pair
from handlers.base import BaseHandler
from services.outcomes import MFA_ENROLLED, MFA_FACTOR_REMOVED, RECOVERY_CODES_REPLACED


class FactorsHandler(BaseHandler):
    """`GET /user/mfa`: the factors and how many recovery codes are left; an aal1 token may ask (what to verify)."""

    async def get(self) -> None:
        factors, left = await self.services.mfa.factors.overview((await self.caller(before_second_factor=True)).user)
        self.write_json({"factors": [factor.public() for factor in factors], "recovery_codes_left": left,
                         "status": "success"})


class TotpEnrolmentHandler(BaseHandler):
    """`POST /user/mfa/totp`: a pending authenticator-app factor: its secret, otpauth URI and QR code."""

    async def post(self) -> None:
        caller = await self.caller()
        name = self.json_body(allow_empty=True).optional_text("name")
        self.write_json({**await self.services.mfa.factors.start_totp(caller, name), "status": "success"})


class TotpConfirmationHandler(BaseHandler):
    """`POST /user/mfa/totp/confirm`: the app's first code activates the factor; recovery codes and aal2 tokens."""

    async def post(self) -> None:
        caller = await self.caller()
        body = self.json_body()
        tokens, codes = await self.services.mfa.factors.confirm_totp(caller, body.text("factor_id"), body.text("code"),
                                                                     self.client)
        self.write_outcome(MFA_ENROLLED, recovery_codes=codes, tokens=token_pair(tokens))


class FactorHandler(BaseHandler):
    async def delete(self, factor_id: str) -> None:
        await self.services.mfa.factors.remove(await self.caller(), factor_id, self.client)
        self.write_outcome(MFA_FACTOR_REMOVED)


class RecoveryCodesHandler(BaseHandler):
    async def post(self) -> None:
        codes = await self.services.mfa.factors.replace_recovery_codes(await self.caller(), self.client)
        self.write_outcome(RECOVERY_CODES_REPLACED, recovery_codes=codes)


class ChallengeHandler(BaseHandler):
    async def post(self) -> None:
        caller = await self.caller(before_second_factor=True)
        step, options = await self.services.mfa.verification.challenge(caller, self.json_body().text("factor_id"))
        answer = {"challenge_id": step.id, "expires_at": step.expires_at, "status": "success"}
        self.write_json({**answer, "options": options} if options is not None else answer)


class VerifyHandler(BaseHandler):
    """`POST /mfa/verify`: the login answer again, its tokens at aal2, in the same session."""

    async def post(self) -> None:
        caller = await self.caller(before_second_factor=True)
        body = self.json_body()
        tokens = await self.services.mfa.verification.verify(
            caller, self.client, challenge_id=body.optional_text("challenge_id"), code=body.optional_text("code"),
            credential=body.optional_object("credential"), recovery_code=body.optional_text("recovery_code"))
        self.write_json(login_answer(caller.user, tokens))
