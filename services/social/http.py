"""Calls to identity providers over HTTP, with one rule: a provider that is down or slow is a quick 503.

Every request has a total timeout (`SOCIAL_HTTP_TIMEOUT_SECONDS`), so a hanging provider never holds a
client's request open; network errors, timeouts and 5xx answers become `auth/unavailable` with
`Retry-After`. 4xx answers are returned to the caller, which knows what a refusal means for its API.
"""

from __future__ import annotations

import json
import logging
import urllib.parse
from dataclasses import dataclass
from typing import Any

import tornado.httpclient

from services.outcomes import ServiceUnavailable

log = logging.getLogger("auth.outbound")
MAX_RESPONSE_BYTES = 1024 * 1024  # discovery documents and JWK sets are a few KB


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    data: Any  # the parsed JSON body, or None when it is not JSON


class ProviderHttp:
    def __init__(self, timeout: float, client: tornado.httpclient.AsyncHTTPClient | None = None,
                 service: str = "identity provider") -> None:
        """`service` names the other side in log lines and messages (CAPTCHA and Pwned Passwords use this too)."""
        self._timeout = timeout
        self._client = client
        self._service = service

    async def get(self, url: str, params: dict[str, str] | None = None,
                  headers: dict[str, str] | None = None, text: bool = False) -> HttpAnswer:
        """`text`: the answer's `data` is its body as text (UTF-8) instead of parsed JSON."""
        if params:
            url += ("&" if "?" in url else "?") + urllib.parse.urlencode(params)
        return await self._fetch(url, "GET", None, headers or {}, text)

    async def post_form(self, url: str, form: dict[str, str], headers: dict[str, str] | None = None) -> HttpAnswer:
        body = urllib.parse.urlencode(form)
        return await self._fetch(url, "POST", body, {"Content-Type": "application/x-www-form-urlencoded",
                                                     **(headers or {})})

    async def post_json(self, url: str, data: dict[str, Any], headers: dict[str, str] | None = None) -> HttpAnswer:
        return await self._fetch(url, "POST", json.dumps(data), {"Content-Type": "application/json",
                                                                 **(headers or {})})

    async def _fetch(self, url: str, method: str, body: str | None, headers: dict[str, str],
                     text: bool = False) -> HttpAnswer:
        if self._client is None:  # built on first use, on the running loop; its own, to cap answer sizes
            self._client = tornado.httpclient.AsyncHTTPClient(force_instance=True, max_body_size=MAX_RESPONSE_BYTES)
        client = self._client
        request = tornado.httpclient.HTTPRequest(
            url, method=method, body=body, headers={"Accept": "application/json", **headers},
            connect_timeout=self._timeout, request_timeout=self._timeout, follow_redirects=False,
            user_agent="python-jwt-auth",
        )
        try:
            response = await client.fetch(request, raise_error=False)
        except (OSError, tornado.httpclient.HTTPClientError) as exc:
            raise self._unavailable(url, exc) from exc
        if response.code == 599 or response.code >= 500:  # 599: Tornado's timeout or connection failure
            raise self._unavailable(url, response.error or response.code)
        if text:
            return HttpAnswer(response.code, (response.body or b"").decode("utf-8", errors="replace"))
        try:
            data = json.loads(response.body) if response.body else None
        except ValueError:
            data = None
        return HttpAnswer(response.code, data)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _unavailable(self, url: str, reason: object) -> ServiceUnavailable:
        # Only scheme and host reach the log: query strings carry tokens and secrets.
        parts = urllib.parse.urlsplit(url)
        log.warning("%s %s://%s unreachable: %s", self._service, parts.scheme, parts.netloc, reason)
        return ServiceUnavailable(f"The {self._service} cannot be reached; please retry shortly.")
