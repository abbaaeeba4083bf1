"""Social sign-in: a provider vouches for a person, and we find, link or create the user it names.

This module is the provider's side: which providers are on, the authorization URL with its state and PKCE
challenge, the callback's checks, the code exchange and the token verification. What the vouched identity
then means for our accounts (the linking rules against account takeover) is services/social/accounts.py.
"""

from __future__ import annotations

import dataclasses
import hmac
import json
import urllib.parse
from collections.abc import Mapping

from services.context import Caller, Client, TokenPair
from services.outcomes import (
    INVALID_STATE,
    METHOD_NOT_ALLOWED,
    MISSING_FIELD,
    PROVIDER_DENIED,
    PROVIDER_NOT_FOUND,
    PROVIDER_TOKEN_INVALID,
    AuthError,
)
from services.sessions import require_step_up
from services.social.accounts import SocialAccounts
from services.social.apple import AppleClientSecret
from services.social.http import ProviderHttp
from services.social.provider import ProviderIdentity, SocialProvider
from services.social.redirects import RedirectAllowList
from services.social.states import PendingSignIn, SignInStates
from services.users import User

SEED_FLAGS = ("facebook", "google", "instagram", "twitter")  # /settings has always shown these four


class SocialLoginService:
    def __init__(self, *, providers: Mapping[str, SocialProvider], accounts: SocialAccounts, states: SignInStates,
                 redirects: RedirectAllowList, http: ProviderHttp, app_url: str) -> None:
        self._providers = dict(providers)
        self._accounts = accounts
        self._states = states
        self._redirects = redirects
        self._http = http
        self._app_url = app_url  # APP_URL, which the config makes end with "/"
        # Apple: a signed JWT instead of a fixed secret, made per provider and cached until shortly before it expires.
        self._signed_secrets = {
            name: AppleClientSecret(p.config.team_id, p.config.key_id, p.config.client_id, p.config.signing_key)
            for name, p in self._providers.items() if p.config.signing_key is not None
        }

    def close(self) -> None:
        self._http.close()

    def enabled(self) -> dict[str, bool]:
        return {**dict.fromkeys(SEED_FLAGS, False), **dict.fromkeys(self._providers, True)}

    def provider(self, name: str) -> SocialProvider:
        provider = self._providers.get(name)
        if provider is None:
            raise AuthError(PROVIDER_NOT_FOUND)
        return provider

    def client_secret(self, name: str) -> str:
        """What the token endpoint gets as `client_secret`: the configured one, or Apple's signed JWT."""
        signed = self._signed_secrets.get(name)
        return signed.current() if signed is not None else self.provider(name).config.client_secret

    def callback_url(self, name: str) -> str:
        return f"{self._app_url}callback/{name}"

    @property
    def state_ttl(self) -> int:
        return self._states.ttl

    # --- mobile: a token the app got from the provider's own SDK ----------------------------------

    async def sign_in_with_token(self, name: str, id_token: str | None, access_token: str | None,
                                 nonce: str | None, fresh: bool, client: Client) -> tuple[User, TokenPair]:
        provider = self.provider(name)
        token = {"id_token": id_token, "access_token": access_token}[provider.credential_field]
        if token is None:
            raise AuthError(MISSING_FIELD, f"The field '{provider.credential_field}' is required for this provider.")
        return await self._accounts.sign_in(await provider.verify(token, nonce), fresh, client)

    # --- browser: authorization code with PKCE ----------------------------------------------------

    async def authorize_url(self, name: str, redirect_to: str | None, fresh: bool) -> tuple[str, str]:
        """Sign-in: the provider's address to send the browser to, and the state to bind to that browser."""
        return await self._begin(name, redirect_to, None, fresh)

    async def link_url(self, caller: Caller, name: str, redirect_to: str | None) -> tuple[str, str]:
        """Linking, started by an authenticated API call (token in a header, never in a URL).

        The state remembers the caller's uid and is bound, like every state, to the browser that receives
        the cookie with this answer. A victim handed the resulting URL (login CSRF: "link my provider account
        to the attacker's user") comes back without that cookie, and the callback refuses the state.
        """
        require_step_up(caller, fresh=False)  # a new way in: aal2 once the user has a second factor
        self._accounts.check_may_link(caller.user)
        return await self._begin(name, redirect_to, caller.user.uid, False)

    async def _begin(self, name: str, redirect_to: str | None, link_uid: str | None, fresh: bool) -> tuple[str, str]:
        provider = self.provider(name)
        target = self._redirects.check(redirect_to)
        pending = self._states.new_pending(name, target, link_uid, fresh)
        state = await self._states.save(pending)
        config = provider.config
        params = {"response_type": "code", "client_id": config.client_id, "redirect_uri": self.callback_url(name),
                  "scope": " ".join(config.scopes), "state": state, "code_challenge": pending.code_challenge,
                  "code_challenge_method": "S256"}
        if provider.credential_field == "id_token":
            params["nonce"] = pending.nonce
        if config.response_mode == "form_post":
            params["response_mode"] = "form_post"
        endpoint = await provider.authorization_endpoint()
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{urllib.parse.urlencode(params)}", state

    def posts_back(self, name: str) -> bool:
        """Whether the provider returns with a cross-site form POST (`response_mode=form_post`, Apple)."""
        return self.provider(name).config.response_mode == "form_post"

    async def take_state(self, name: str, state: str | None, bound_state: str | None,
                         posted: bool = False) -> PendingSignIn:
        """The pending sign-in for `state`, consumed; it must be this provider's and this browser's.

        `posted`: the callback came as a form POST, which only a form_post provider sends."""
        if posted and not self.posts_back(name):
            raise AuthError(METHOD_NOT_ALLOWED)
        self.provider(name)
        pending = await self._states.take(state or "")
        # The cookie set by /authorize binds the flow to the browser that started it (login CSRF, RFC 6749 §10.12).
        if (pending is None or pending.provider != name or not bound_state
                or not hmac.compare_digest(bound_state, state or "")):
            raise AuthError(INVALID_STATE)
        # Checked again: the allow-list may have changed (or the server been upgraded) since the state was made.
        return dataclasses.replace(pending, redirect_to=self._redirects.check(pending.redirect_to))

    async def finish(self, pending: PendingSignIn, code: str | None, error: str | None,
                     client: Client, apple_user: str | None = None) -> dict[str, str]:
        """Exchange the code and sign in (or link); the answer goes into the redirect's fragment.

        `apple_user` is the `user` form field Apple posts on a person's first sign-in only: the one place it
        ever gives the name. Only the name is taken from it; the email and its verification come from the
        signed ID token, since this field is unsigned and anyone could have written it."""
        provider = self.provider(pending.provider)
        if error is not None or not code:
            raise AuthError(PROVIDER_DENIED)
        vouched = await self._exchange(provider, pending, code)
        posted_name = _posted_name(apple_user)
        if posted_name and not vouched.name:
            vouched = dataclasses.replace(vouched, name=posted_name)
        if pending.link_uid is not None:
            await self._accounts.link(pending.link_uid, vouched, client)
            return {"status": "success", "code": "auth/identity-linked", "provider": pending.provider}
        user, tokens = await self._accounts.sign_in(vouched, pending.fresh, client)
        fragment = {"status": "success", "access_token": tokens.access.token, "refresh_token": tokens.refresh.token,
                    "token_type": "Bearer", "uid": user.uid}
        if user.has_second_factor:  # the tokens are aal1: verify a factor (POST /mfa/challenge, /mfa/verify)
            fragment["mfa_required"] = "true"
        return fragment

    async def _exchange(self, provider: SocialProvider, pending: PendingSignIn, code: str) -> ProviderIdentity:
        config = provider.config
        answer = await self._http.post_form(await provider.token_endpoint(), {
            "grant_type": "authorization_code", "code": code, "redirect_uri": self.callback_url(config.name),
            "client_id": config.client_id, "client_secret": self.client_secret(config.name),
            "code_verifier": pending.verifier,
        })
        data = answer.data if isinstance(answer.data, dict) else {}
        # GitHub answers a refused code with 200 and an `error` field.
        if answer.status != 200 or "error" in data:
            raise AuthError(PROVIDER_DENIED, "The identity provider refused the sign-in code.")
        token = data.get(provider.credential_field)
        if not isinstance(token, str):
            raise AuthError(PROVIDER_TOKEN_INVALID)
        return await provider.verify(token, pending.nonce)


def _posted_name(user: str | None) -> str | None:
    """`{"name": {"firstName": ..., "lastName": ...}, "email": ...}` as Apple posts it; None if unreadable."""
    if not user or len(user) > 4096:
        return None
    try:
        data = json.loads(user)
    except ValueError:
        return None
    name = data.get("name") if isinstance(data, dict) else None
    if not isinstance(name, dict):
        return None
    parts = [name.get(part) for part in ("firstName", "lastName")]
    return " ".join(part.strip() for part in parts if isinstance(part, str) and part.strip()) or None
