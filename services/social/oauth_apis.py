"""Providers without ID tokens (Facebook, GitHub): an access token is checked with the provider's own API.

Holding a valid access token proves nothing by itself: any app's token for the same person is valid
too. So each check first asks the provider whether the token was issued to *our* app (Facebook's
`debug_token` against our app id, GitHub's "check a token" for our OAuth app), then reads the profile.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import urllib.parse

from services.config import ProviderConfig
from services.outcomes import PROVIDER_TOKEN_INVALID, AuthError
from services.social.http import ProviderHttp
from services.social.provider import CredentialField, ProviderIdentity

MAX_ACCESS_TOKEN_LENGTH = 4096


class _ConfiguredEndpoints:
    """Providers whose endpoints come from the config, not from a discovery document."""

    credential_field: CredentialField = "access_token"

    def __init__(self, config: ProviderConfig, http: ProviderHttp) -> None:
        self.config = config
        self._http = http

    async def authorization_endpoint(self) -> str:
        return self.config.authorization_endpoint

    async def token_endpoint(self) -> str:
        return self.config.token_endpoint


class FacebookProvider(_ConfiguredEndpoints):
    async def verify(self, token: str, nonce: str | None = None) -> ProviderIdentity:
        _check_shape(token)
        app_token = f"{self.config.client_id}|{self.config.client_secret}"
        debug = await self._http.get(f"{self.config.api_url}/debug_token",
                                     {"input_token": token, "access_token": app_token})
        data = debug.data.get("data") if debug.status == 200 and isinstance(debug.data, dict) else None
        if (not isinstance(data, dict) or data.get("is_valid") is not True
                or str(data.get("app_id")) not in self.config.client_ids or not data.get("user_id")):
            raise AuthError(PROVIDER_TOKEN_INVALID, "The Facebook token is not valid for this app.")
        # appsecret_proof: Graph API calls that only our server, holding the secret, can make with this token.
        proof = hmac.new(self.config.client_secret.encode(), token.encode(), hashlib.sha256).hexdigest()
        me = await self._http.get(f"{self.config.api_url}/me", {"fields": "id,name,email", "access_token": token,
                                                                  "appsecret_proof": proof})
        profile = me.data if me.status == 200 and isinstance(me.data, dict) else None
        if profile is None or str(profile.get("id")) != str(data["user_id"]):
            raise AuthError(PROVIDER_TOKEN_INVALID, "The Facebook token is not valid for this app.")
        email = profile.get("email") if isinstance(profile.get("email"), str) else None
        # Facebook never says whether an address was confirmed: treat it as unverified (no linking by email).
        return ProviderIdentity(self.config.name, str(profile["id"]), email, False, str(profile.get("name") or ""))


class GitHubProvider(_ConfiguredEndpoints):
    async def verify(self, token: str, nonce: str | None = None) -> ProviderIdentity:
        _check_shape(token)
        basic = base64.b64encode(f"{self.config.client_id}:{self.config.client_secret}".encode()).decode()
        client_id = urllib.parse.quote(self.config.client_id, safe="")
        check = await self._http.post_json(f"{self.config.api_url}/applications/{client_id}/token",
                                           {"access_token": token}, {"Authorization": f"Basic {basic}"})
        if check.status != 200 or not isinstance(check.data, dict):
            raise AuthError(PROVIDER_TOKEN_INVALID, "The GitHub token is not valid for this app.")
        as_user = {"Authorization": f"Bearer {token}"}
        user, emails = await asyncio.gather(self._http.get(f"{self.config.api_url}/user", headers=as_user),
                                            self._http.get(f"{self.config.api_url}/user/emails", headers=as_user))
        profile = user.data if user.status == 200 and isinstance(user.data, dict) else None
        if profile is None or not profile.get("id"):
            raise AuthError(PROVIDER_TOKEN_INVALID, "The GitHub token is not valid for this app.")
        email, verified = _primary_email(emails.data if emails.status == 200 else None)
        name = profile.get("name") or profile.get("login") or ""
        return ProviderIdentity(self.config.name, str(profile["id"]), email, verified, str(name))


def _primary_email(entries: object) -> tuple[str | None, bool]:
    """GitHub's primary address and whether GitHub verified it (needs the `user:email` scope)."""
    if not isinstance(entries, list):
        return None, False
    for entry in entries:
        if isinstance(entry, dict) and entry.get("primary") and isinstance(entry.get("email"), str):
            return entry["email"], entry.get("verified") is True
    return None, False


def _check_shape(token: str) -> None:
    if not token or len(token) > MAX_ACCESS_TOKEN_LENGTH or not token.isprintable():
        raise AuthError(PROVIDER_TOKEN_INVALID)
