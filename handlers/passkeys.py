"""Passkeys: registering and removing the signed-in user's (`/user/passkeys...`), signing in with one
(`/login/passkey...`), and the association documents native apps fetch from `/.well-known/`."""

from __future__ import annotations

import json

from handlers.answers import login_answer, token_pair
from handlers.base import BaseHandler
from services.outcomes import PASSKEY_ADDED, PASSKEY_REMOVED
from services.passkeys import apple_app_site_association, asset_links


class PasskeyOptionsHandler(BaseHandler):
    """`POST /user/passkeys/options`: PublicKeyCredentialCreationOptions for `navigator.credentials.create()`."""

    async def post(self) -> None:
        caller = await self.caller()
        name = self.json_body(allow_empty=True).optional_text("name")
        step, options = await self.services.mfa.passkeys.registration_options(caller, name)
        self.write_json({"challenge_id": step.id, "options": options, "status": "success"})


class PasskeysHandler(BaseHandler):
    async def get(self) -> None:
        passkeys = await self.services.mfa.passkeys.list(await self.caller())
        self.write_json({"passkeys": passkeys, "status": "success"})

    async def post(self) -> None:
        """The authenticator's RegistrationResponseJSON: the passkey is stored, the session raised to aal2."""
        caller = await self.caller()
        body = self.json_body()
        tokens, codes = await self.services.mfa.passkeys.register(
            caller, body.optional_text("challenge_id"), body.optional_object("credential"), self.client)
        extra = {"recovery_codes": codes} if codes is not None else {}
        self.write_outcome(PASSKEY_ADDED, tokens=token_pair(tokens), **extra)


class PasskeyHandler(BaseHandler):
    async def delete(self, passkey_id: str) -> None:
        await self.services.mfa.passkeys.remove(await self.caller(), passkey_id, self.client)
        self.write_outcome(PASSKEY_REMOVED)


class PasskeySignInOptionsHandler(BaseHandler):
    """`POST /login/passkey/options` `{"email"?}`: the same shape, whoever the address belongs to."""

    async def post(self) -> None:
        await self.rate_limit("token")
        email = self.json_body(allow_empty=True).optional_text("email")
        step, options = await self.services.mfa.passkeys.sign_in_options(email)
        self.write_json({"challenge_id": step.id, "options": options, "status": "success"})


class PasskeySignInHandler(BaseHandler):
    async def post(self) -> None:
        await self.rate_limit("token")
        body = self.json_body()
        user, tokens = await self.services.mfa.passkeys.sign_in(
            body.optional_text("challenge_id"), body.optional_object("credential"), body.flag("fresh_token"),
            self.client)
        self.write_json(login_answer(user, tokens))


class AppleAssociationHandler(BaseHandler):
    def get(self) -> None:
        self.set_header("Cache-Control", "public, max-age=3600")
        self.write_json(apple_app_site_association(self.services.config))


class AssetLinksHandler(BaseHandler):
    def get(self) -> None:
        self.set_header("Cache-Control", "public, max-age=3600")
        self.finish(json.dumps(asset_links(self.services.config), separators=(",", ":")))
