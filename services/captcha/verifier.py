"""Checking a solved CAPTCHA on the server: the token the provider's widget gave the client goes to the provider's
siteverify endpoint (Cloudflare Turnstile and hCaptcha take the same form: `secret`, `response`, `remoteip`) and
counts only when it answers `success: true`.

A token works once at the provider (`timeout-or-duplicate` the second time), so each request checks it at most once.
A provider that is down or slow is a quick 503 with `Retry-After`, by the rules of social logins' outbound calls
(services/social/http.py): we fail closed, never let a request through unchecked. A provider that refuses our own
secret is our configuration's fault, not the client's: an error line says so, and the client gets the 503 too.
"""

from __future__ import annotations

import logging
from typing import Protocol

from services.context import Client
from services.outcomes import CAPTCHA_FAILED, AuthError, ServiceUnavailable
from services.social import ProviderHttp

log = logging.getLogger("auth.captcha")
MAX_TOKEN_LENGTH = 4096  # Turnstile's are at most 2048 characters
OUR_FAULTS = {"missing-input-secret", "invalid-input-secret", "invalid-or-already-seen-response-secret",
              "sitekey-secret-mismatch", "invalid-sitekey"}


class Captcha(Protocol):
    @property
    def enabled(self) -> bool: ...

    async def passes(self, client: Client) -> bool:
        """Whether the client's `captcha_token` is a solved challenge (checked at the provider, once)."""

    async def require(self, client: Client) -> None:
        """400 `auth/captcha-failed` unless the client carries a solved challenge (nothing when CAPTCHA is off)."""


class NoCaptcha:
    """`CAPTCHA_PROVIDER: none`: nothing is asked for, everything passes."""

    enabled = False

    async def passes(self, client: Client) -> bool:
        return True

    async def require(self, client: Client) -> None:
        return None


class SiteVerify:
    def __init__(self, *, provider: str, secret: str, url: str, http: ProviderHttp) -> None:
        self._provider = provider
        self._secret = secret
        self._url = url
        self._http = http

    enabled = True

    async def passes(self, client: Client) -> bool:
        token = client.captcha_token
        if not token or len(token) > MAX_TOKEN_LENGTH:
            return False
        form = {"secret": self._secret, "response": token, **({"remoteip": client.ip} if client.ip else {})}
        answer = await self._http.post_form(self._url, form)
        data = answer.data if isinstance(answer.data, dict) else {}
        if answer.status == 200 and data.get("success") is True:
            return True
        errors = data.get("error-codes") if isinstance(data.get("error-codes"), list) else []
        if answer.status != 200 or OUR_FAULTS & set(map(str, errors)):
            log.error("the %s siteverify endpoint refused the check (%s %s): check CAPTCHA_SECRET",
                      self._provider, answer.status, ",".join(map(str, errors)) or "no error codes")
            raise ServiceUnavailable("The CAPTCHA cannot be checked right now; please retry shortly.")
        return False

    async def require(self, client: Client) -> None:
        if not await self.passes(client):
            raise AuthError(CAPTCHA_FAILED)
