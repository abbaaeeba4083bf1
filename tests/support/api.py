"""The tests' HTTP client and the assertions tests share: a test reads like the API documentation."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import jwt
import pytest
import tornado.httpclient

PASSWORD = "Myverystrongpassword123@"
EMAIL = "omar@quazi.co"


def with_settings(**values: Any) -> pytest.MarkDecorator:
    """Config overrides for one test, which must name `settings` among its arguments (pytest's rule)."""
    return pytest.mark.parametrize("settings", [values], indirect=True, ids=["-".join(values)])


@dataclass
class Response:
    status: int
    headers: Any
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class Api:
    """A thin HTTP client for tests: never raises on 4xx/5xx, always returns the status and body."""

    def __init__(self, client: tornado.httpclient.AsyncHTTPClient, base_url: str) -> None:
        self._client = client
        self.base_url = base_url

    async def request(self, method: str, path: str, json_body: Any = None, body: bytes | str | None = None,
                      token: str | None = None, headers: dict[str, str] | None = None) -> Response:
        all_headers = dict(headers or {})
        if token is not None:
            all_headers.setdefault("python-auth", f"Bearer {token}")
        if json_body is not None:
            body = json.dumps(json_body)
            all_headers.setdefault("Content-Type", "application/json")
        response = await self._client.fetch(
            self.base_url + path, method=method, body=body, headers=all_headers, raise_error=False,
            allow_nonstandard_methods=True, request_timeout=30,
        )
        return Response(response.code, response.headers, response.body or b"")

    async def fetch_url(self, url: str) -> Response:
        """GET an absolute URL (a picture's), with no token."""
        response = await self._client.fetch(url, raise_error=False, request_timeout=30)
        return Response(response.code, response.headers, response.body or b"")

    async def get(self, path: str, **kwargs: Any) -> Response:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, json_body: Any = None, **kwargs: Any) -> Response:
        return await self.request("POST", path, json_body=json_body, **kwargs)

    async def patch(self, path: str, json_body: Any = None, **kwargs: Any) -> Response:
        return await self.request("PATCH", path, json_body=json_body, **kwargs)

    async def signup(self, email: str = "omar@quazi.co", password: str = PASSWORD,
                     name: str = "Omar Quazi") -> Response:
        return await self.post("/signup", {"name": name, "email": email, "password": password})

    async def login(self, email: str = "omar@quazi.co", password: str = PASSWORD, fresh: bool = False) -> Response:
        return await self.post("/login", {"email": email, "password": password, "fresh_token": fresh})

    async def refresh(self, token: str) -> Response:
        """POST /refresh with the refresh token in the body."""
        return await self.post("/refresh", {"token": token})

    async def refreshed(self, token: str) -> dict[str, Any]:
        """Refresh, insisting that it works; returns the answer's JSON (`access_token`, `refresh_token`, `exp`)."""
        response = await self.refresh(token)
        assert response.status == 200, response.body
        return response.json

    async def signed_up_tokens(self, email: str = "omar@quazi.co", fresh: bool = False) -> dict[str, str]:
        """Sign up and log in; returns the `tokens` object of the login answer."""
        assert (await self.signup(email=email)).status == 200
        login = await self.login(email=email, fresh=fresh)
        assert login.status == 200, login.body
        return login.json["tokens"]


async def signup_from(api: Api, address: str, n: int) -> Response:
    """Sign up `u<n>@quazi.co` as a client at `address`, as named by a trusted proxy (`TRUSTED_PROXIES`)."""
    return await api.post("/signup", {"name": "N", "email": f"u{n}@quazi.co", "password": PASSWORD},
                          headers={"X-Forwarded-For": address})


def assert_error(response: Response, status: int, code: str) -> None:
    """The API's one error shape: `{status: "error", code, message}` with the expected status and code."""
    assert response.status == status, response.body
    body = response.json
    assert set(body) == {"status", "code", "message"}, body
    assert body["status"] == "error", body
    assert body["code"] == code, body


async def eventually(probe: Callable[[], Awaitable[bool]], within: float = 5.0) -> bool:
    """Poll until `probe()` holds or `within` seconds pass (the app re-reads the keys folder every 0.2 s)."""
    deadline = time.monotonic() + within
    while not await probe():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


async def assert_revoked(api: Api, tokens: dict[str, str]) -> None:
    """Both halves of a login are dead on the very next request: the access token on /user, the refresh token
    on /refresh."""
    assert_error(await api.get("/user", token=tokens["access_token"]), 401, "auth/token-revoked")
    assert_error(await api.post("/refresh", {"token": tokens["refresh_token"]}), 401, "auth/token-revoked")


async def login_tokens(api: Api, email: str = EMAIL, password: str = PASSWORD, fresh: bool = False) -> dict[str, str]:
    """Log in, insisting that it works; returns the `tokens` of the answer."""
    response = await api.login(email=email, password=password, fresh=fresh)
    assert response.status == 200, response.body
    return response.json["tokens"]


def token_claims(token: str) -> dict[str, Any]:
    """A token's payload, read without verifying it: tests only compare claims (`sub`, `sid`, `jti`)."""
    return jwt.decode(token, options={"verify_signature": False})
