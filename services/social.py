"""Social sign-in: a provider vouches for a person, and we find, link or create the user it names.

Linking rules (no account takeover through a provider's say-so):
- an identity (provider, subject) seen before signs in its own user, whatever the emails say now;
- a new identity whose email matches an existing account is linked to it only when the provider asserts
  that exact address is verified AND the account's own address is verified; otherwise `auth/account-exists`:
  the owner logs in and links the provider from there;
- otherwise a new user is made, with the provider's name and `email_verified` as the provider asserts it,
  and no password (password login fails for it like a wrong password until the user sets one).
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import urllib.parse
from collections.abc import Mapping

from services.accounts import clean_name
from services.apple_secret import AppleClientSecret
from services.audit import AuditLog
from services.errors import (
    ACCOUNT_EXISTS,
    EMAIL_IN_USE,
    IDENTITY_IN_USE,
    IDENTITY_NOT_FOUND,
    INVALID_NAME,
    INVALID_STATE,
    LAST_SIGN_IN_METHOD,
    METHOD_NOT_ALLOWED,
    MISSING_FIELD,
    PROVIDER_DENIED,
    PROVIDER_NOT_FOUND,
    PROVIDER_TOKEN_INVALID,
    SIGNUP_DISABLED,
    TOKEN_REVOKED,
    USER_DISABLED,
    AuthError,
)
from services.identities import IdentityStore, LinkedIdentity
from services.logins import Client, Identity, LoginService, TokenPair
from services.oauth_apis import FacebookProvider, GitHubProvider
from services.oauth_state import PendingSignIn, RedirectAllowList, SignInStates
from services.oidc import OidcProvider, ProviderIdentity
from services.outbound import ProviderHttp
from services.user_locks import UserLocks
from services.users import User, UserStore, normalize_email

SocialProvider = OidcProvider | FacebookProvider | GitHubProvider
SEED_FLAGS = ("facebook", "google", "instagram", "twitter")  # /settings has always shown these four


class SocialLoginService:
    def __init__(self, providers: Mapping[str, SocialProvider], identities: IdentityStore, users: UserStore,
                 logins: LoginService, states: SignInStates, redirects: RedirectAllowList, http: ProviderHttp,
                 audit: AuditLog, locks: UserLocks, app_url: str, disable_signup: bool) -> None:
        self._providers = dict(providers)
        self._identities = identities
        self._users = users
        self._logins = logins
        self._states = states
        self._redirects = redirects
        self._http = http
        self._audit = audit
        self._locks = locks
        self._app_url = app_url.rstrip("/") + "/"
        self._disable_signup = disable_signup
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
        if isinstance(provider, OidcProvider):
            if id_token is None:
                raise AuthError(MISSING_FIELD, "The field 'id_token' is required for this provider.")
            vouched = await provider.verify_id_token(id_token, nonce)
        else:
            if access_token is None:
                raise AuthError(MISSING_FIELD, "The field 'access_token' is required for this provider.")
            vouched = await provider.verify_access_token(access_token)
        return await self._sign_in(vouched, fresh, client)

    # --- browser: authorization code with PKCE ----------------------------------------------------

    async def authorize_url(self, name: str, redirect_to: str | None, fresh: bool) -> tuple[str, str]:
        """Sign-in: the provider's address to send the browser to, and the state to bind to that browser."""
        return await self._begin(name, redirect_to, None, fresh)

    async def link_url(self, identity: Identity, name: str, redirect_to: str | None) -> tuple[str, str]:
        """Linking, started by an authenticated API call (token in a header, never in a URL).

        The state remembers the caller's uid and is bound, like every state, to the browser that receives
        the cookie with this answer. A victim handed the resulting URL (login CSRF: "link my provider account
        to the attacker's user") comes back without that cookie, and the callback refuses the state.
        """
        return await self._begin(name, redirect_to, identity.user.uid, False)

    async def _begin(self, name: str, redirect_to: str | None, link_uid: str | None, fresh: bool) -> tuple[str, str]:
        provider = self.provider(name)
        target = self._redirects.check(redirect_to)
        pending = self._states.new_pending(name, target, link_uid, fresh)
        state = await self._states.save(pending)
        config = provider.config
        params = {"response_type": "code", "client_id": config.client_id, "redirect_uri": self.callback_url(name),
                  "scope": " ".join(config.scopes), "state": state, "code_challenge": pending.code_challenge,
                  "code_challenge_method": "S256"}
        if isinstance(provider, OidcProvider):
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
        return pending

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
            user = await self._logins.store(self._users.find_by_uid(pending.link_uid))
            if user is None:
                raise AuthError(TOKEN_REVOKED)
            self._refuse_disabled(user, client, vouched.provider)
            await self._link(user, vouched, client)
            return {"status": "success", "code": "auth/identity-linked", "provider": pending.provider}
        user, tokens = await self._sign_in(vouched, pending.fresh, client)
        return {"status": "success", "access_token": tokens.access.token, "refresh_token": tokens.refresh.token,
                "token_type": "Bearer", "uid": user.uid}

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
        if isinstance(provider, OidcProvider):
            if not isinstance(data.get("id_token"), str):
                raise AuthError(PROVIDER_TOKEN_INVALID)
            return await provider.verify_id_token(data["id_token"], pending.nonce)
        if not isinstance(data.get("access_token"), str):
            raise AuthError(PROVIDER_TOKEN_INVALID)
        return await provider.verify_access_token(data["access_token"])

    # --- identities of the signed-in user -----------------------------------------------------------

    async def identities(self, identity: Identity) -> list[LinkedIdentity]:
        return await self._logins.store(self._identities.list(identity.user.uid))

    async def unlink(self, identity: Identity, name: str, client: Client) -> None:
        """Remove a link, never the last way in: the count and the delete run under the user's lock, so two
        concurrent unlinks of an account with two identities and no password cannot both see "two left"."""
        user = identity.user
        async with self._locks.hold(user.uid, "identity"):
            linked = await self.identities(identity)
            if not any(item.provider == name for item in linked):
                raise AuthError(IDENTITY_NOT_FOUND)
            if not user.has_password and len(linked) == 1:
                raise AuthError(LAST_SIGN_IN_METHOD)
            if not await self._logins.store(self._identities.unlink(user.uid, name)):
                raise AuthError(IDENTITY_NOT_FOUND)
        self._audit.record("identity.unlinked", uid=user.uid, sid=identity.claims.session_id, ip=client.ip,
                           provider=name)

    # --- the linking rules --------------------------------------------------------------------------

    async def _sign_in(self, vouched: ProviderIdentity, fresh: bool, client: Client) -> tuple[User, TokenPair]:
        user = await self._user_for(vouched, client)
        self._refuse_disabled(user, client, vouched.provider)
        tokens, session = await self._logins.start_session(user, fresh, client)
        self._audit.record("login.ok", uid=user.uid, sid=session.id, ip=client.ip, fresh=fresh,
                           provider=vouched.provider)
        return user, tokens

    async def _user_for(self, vouched: ProviderIdentity, client: Client) -> User:
        known = await self._logins.store(self._identities.find(vouched.provider, vouched.subject))
        if known is not None:
            user = await self._logins.store(self._users.find_by_uid(known.uid))
            if user is not None:
                return user
            await self._logins.store(self._identities.unlink(known.uid, vouched.provider))  # its user is gone
        email = _address(vouched.email)
        existing = await self._logins.store(self._users.find_by_email(email)) if email else None
        if existing is not None:
            if not (vouched.email_verified and existing.email_verified):
                raise AuthError(ACCOUNT_EXISTS)
            self._refuse_disabled(existing, client, vouched.provider)  # before a link is made to it
            await self._link(existing, vouched, client)
            return existing
        return await self._create(vouched, email, client)

    async def _create(self, vouched: ProviderIdentity, email: str | None, client: Client) -> User:
        if self._disable_signup:
            raise AuthError(SIGNUP_DISABLED)
        # No address from the provider: a unique placeholder in the reserved .invalid domain (RFC 2606),
        # which the user can replace with PATCH /user {"email"}.
        subject_ref = hashlib.sha256(vouched.subject.encode()).hexdigest()[:20]
        address = email or f"{vouched.provider}-{subject_ref}@users.invalid"
        try:
            user = await self._logins.store(self._users.create(
                address, _display_name(vouched, address), "", email_verified=vouched.email_verified and bool(email)))
        except AuthError as exc:
            if exc.outcome is EMAIL_IN_USE:  # someone took the address a moment ago
                raise AuthError(ACCOUNT_EXISTS) from None
            raise
        try:
            await self._logins.store(self._identities.link(user.uid, vouched))
        except AuthError as exc:
            # The same identity signed in twice at once: keep the first user, drop ours.
            await self._logins.store(self._users.delete(user.uid))
            winner = await self._logins.store(self._identities.find(vouched.provider, vouched.subject))
            found = await self._logins.store(self._users.find_by_uid(winner.uid)) if winner else None
            if found is None:
                raise exc from None
            return found
        self._audit.record("signup", uid=user.uid, ip=client.ip, provider=vouched.provider)
        return user

    def _refuse_disabled(self, user: User, client: Client, provider: str) -> None:
        """An account an administrator disabled signs in through no provider either (as with a password)."""
        if user.disabled:
            self._audit.record("login.disabled", uid=user.uid, ip=client.ip, provider=provider)
            raise AuthError(USER_DISABLED)

    async def _link(self, user: User, vouched: ProviderIdentity, client: Client) -> None:
        known = await self._logins.store(self._identities.find(vouched.provider, vouched.subject))
        if known is not None:
            if known.uid != user.uid:
                raise AuthError(IDENTITY_IN_USE)
            return
        await self._logins.store(self._identities.link(user.uid, vouched))
        self._audit.record("identity.linked", uid=user.uid, ip=client.ip, provider=vouched.provider)


def _address(email: str | None) -> str | None:
    if not email:
        return None
    try:
        return normalize_email(email)
    except AuthError:
        return None


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


def _display_name(vouched: ProviderIdentity, address: str) -> str:
    for candidate in (vouched.name, address.split("@")[0], vouched.provider):
        try:
            return clean_name(candidate)
        except AuthError as exc:
            if exc.outcome is not INVALID_NAME:
                raise
    return vouched.provider
