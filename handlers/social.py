"""Social sign-in: mobile token exchange, the browser's authorization-code flow, and linked identities."""

from __future__ import annotations

import urllib.parse

from handlers.answers import login_answer
from handlers.base import BaseHandler
from services.outcomes import IDENTITY_UNLINKED, INVALID_FIELD, AuthError

STATE_COOKIE = "auth_oauth_state"


class StateCookieMixin(BaseHandler):
    def bind_state(self, state: str, provider: str) -> None:
        """The state also goes into a cookie only this browser holds: the callback must present both.

        `SameSite=Lax` keeps the cookie off cross-site requests except top-level GET navigations, which is how
        most providers come back. A form_post provider (Apple) comes back with a cross-site POST, on which a Lax
        cookie is never sent, so for those the cookie is `SameSite=None; Secure`. That is still sound: the
        cookie only binds the flow to this browser; it proves nothing by being sent, since the callback wants
        it to equal the single-use, unguessable state in the request, and CSRF gains nothing from a cookie
        that merely names a state the attacker does not know. Browsers accept `SameSite=None` only with
        `Secure`, so Apple in the browser needs `APP_URL` on HTTPS (Apple requires HTTPS return URLs anyway).
        """
        social = self.services.social.sign_in
        if social.posts_back(provider):
            self.set_cookie(STATE_COOKIE, state, path="/callback/", max_age=social.state_ttl, httponly=True,
                            samesite="None", secure=True)
        else:
            self.set_cookie(STATE_COOKIE, state, path="/callback/", max_age=social.state_ttl, httponly=True,
                            samesite="Lax", secure=self.services.config.app_url.startswith("https://"))


class SocialLoginHandler(BaseHandler):
    """`POST /login/<provider>` with `{"id_token"}` (OpenID Connect) or `{"access_token"}` (Facebook, GitHub)."""

    async def post(self, provider: str) -> None:
        await self.rate_limit("token")
        body = self.json_body()
        user, tokens = await self.services.social.sign_in.sign_in_with_token(
            provider, body.optional_text("id_token"), body.optional_text("access_token"),
            body.optional_text("nonce"), fresh=body.flag("fresh_token"), client=self.client,
        )
        self.write_json(login_answer(user, tokens))


class AuthorizeHandler(StateCookieMixin):
    """`GET /authorize/<provider>?redirect_to=...[&fresh_token=true]`: off to the provider to sign in.

    Linking no longer starts here: a `link_token` in this URL let anyone hand a victim a link that joins the
    victim's provider account to the sender's user, and put an access token in browser history. It is
    refused outright (rather than ignored) so an old client learns at once to use `POST /user/identities/<p>`.
    """

    async def get(self, provider: str) -> None:
        await self.rate_limit("token")
        if self.get_query_argument("link_token", None) is not None:
            raise AuthError(INVALID_FIELD, "link_token is no longer accepted; start linking with "
                                           "POST /user/identities/<provider>.")
        url, state = await self.services.social.sign_in.authorize_url(
            provider, self.get_query_argument("redirect_to", None),
            fresh=self.get_query_argument("fresh_token", "false").lower() == "true",
        )
        self.bind_state(state, provider)
        self.redirect(url)


class CallbackHandler(StateCookieMixin):
    """`GET /callback/<provider>?code&state`, or for form_post providers (Apple) a form `POST` with `code`,
    `state` and, on a first sign-in, `user`: back from the provider, then to `redirect_to` with a fragment.

    Until the state checks out nothing about the request can be trusted, so failures are JSON errors; after
    it, the browser goes back to the app's own `redirect_to` with the outcome in the fragment, which never
    reaches a server log or a Referer header.
    """

    def check_xsrf_cookie(self) -> None:
        """The POST is cross-site by design (the provider's page submits it) and carries no XSRF token. It is
        authenticated by the single-use state matching this browser's cookie, and the code by PKCE, so it is
        exempt should `xsrf_cookies` ever be turned on for the application."""

    async def get(self, provider: str) -> None:
        await self._complete(provider, {name: self.get_query_argument(name, None)
                                        for name in ("state", "code", "error")}, posted=False)

    async def post(self, provider: str) -> None:
        await self._complete(provider, self.form_body(), posted=True)

    async def _complete(self, provider: str, fields: dict[str, str | None], posted: bool) -> None:
        await self.rate_limit("token")
        social = self.services.social.sign_in
        pending = await social.take_state(provider, fields.get("state"), self.get_cookie(STATE_COOKIE), posted)
        self.clear_cookie(STATE_COOKIE, path="/callback/")
        try:
            fragment = await social.finish(pending, fields.get("code"), fields.get("error"), self.client,
                                           apple_user=fields.get("user"))
        except AuthError as error:
            fragment = {"status": "error", "code": error.code, "message": error.message}
            retry_after = self.error_headers(error).get("Retry-After")
            if retry_after is not None:
                fragment["retry_after"] = retry_after
        self.redirect(f"{pending.redirect_to}#{urllib.parse.urlencode(fragment)}")


class IdentitiesHandler(BaseHandler):
    async def get(self) -> None:
        identities = await self.services.social.accounts.identities(await self.caller())
        self.write_json({"identities": [item.public() for item in identities], "status": "success"})


class IdentityHandler(StateCookieMixin):
    """`POST` starts linking `<provider>` to the caller's account; `DELETE` removes the link."""

    cors_credentials = True  # the app's fetch must be able to receive the state cookie set by POST

    async def post(self, provider: str) -> None:
        await self.rate_limit("token")
        caller = await self.caller()
        body = self.json_body()
        url, state = await self.services.social.sign_in.link_url(caller, provider, body.optional_text("redirect_to"))
        self.bind_state(state, provider)
        self.write_json({"authorize_url": url, "status": "success"})

    async def delete(self, provider: str) -> None:
        await self.services.social.accounts.unlink(await self.caller(), provider, self.client)
        self.write_outcome(IDENTITY_UNLINKED)
