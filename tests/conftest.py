"""Fixtures: a real Redis server for the session, a fresh in-memory MongoDB and key folder per test.

Tests talk to the app over HTTP with pytest-tornado's `http_client`; `api` wraps it so a test reads
like the API documentation: a request, then the asserted response.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import tornado.httpclient
import tornado.httpserver
import tornado.testing
from fake_providers import FakeProviders, make_fake_app, rsa_key
from mongomock_motor import AsyncMongoMockClient

from handlers.application import make_app
from services import keyfiles
from services.backends import redis_client
from services.config import Config, load_config, setting_names
from services.embedded_redis import EmbeddedRedis
from services.wiring import Services, build_services, start_services, stop_services

PASSWORD = "Myverystrongpassword123@"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


SERVER = Path(__file__).resolve().parent.parent / "server.py"


def server_environ(**settings: str) -> dict[str, str]:
    """An environment for running `server.py` as a process: ours without any setting, plus `settings`."""
    ours = {name: value for name, value in os.environ.items() if name not in {*setting_names(), "AUTH_CONFIG"}}
    return {**ours, **settings}


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    """One real redis-server over TCP for the whole run; each test gets a flushed database."""
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"), port=free_port(), persistent=False)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def keys_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "keys"
    keyfiles.generate(folder, "RS256")
    return folder


@pytest.fixture
def settings() -> dict[str, Any]:
    """Per-test config overrides: a test changes this dict before `app` is built."""
    return {}


@pytest.fixture
def config(keys_dir: Path, redis_server: EmbeddedRedis, settings: dict[str, Any]) -> Config:
    values = {"jwt_keys": str(keys_dir), "redis_url": redis_server.url, "bcrypt_cost": 4,
              "jwt_keys_reload_seconds": 0.2, "port": 0, **settings}
    return load_config(None, environ={}, **values)


@pytest.fixture
def services(config: Config, io_loop: Any) -> Iterator[Services]:
    redis = redis_client(config.redis_url, config.redis_timeout_seconds)
    io_loop.run_sync(redis.flushdb)
    built = build_services(config, AsyncMongoMockClient()["test"], redis)
    io_loop.run_sync(lambda: start_services(built))
    yield built
    io_loop.run_sync(lambda: stop_services(built))


@pytest.fixture
def app(services: Services) -> Any:
    return make_app(services)


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

    async def signed_up_tokens(self, email: str = "omar@quazi.co", fresh: bool = False) -> dict[str, str]:
        """Sign up and log in; returns the `tokens` object of the login answer."""
        assert (await self.signup(email=email)).status == 200
        login = await self.login(email=email, fresh=fresh)
        assert login.status == 200, login.body
        return login.json["tokens"]


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


@pytest.fixture
def api(http_client: tornado.httpclient.AsyncHTTPClient, base_url: str) -> Api:
    return Api(http_client, base_url)


@pytest.fixture(scope="session")
def provider_keys() -> list[Any]:
    """RSA keys for the fake identity providers, made once (2048-bit generation is slow)."""
    return [rsa_key(f"provider-key-{n}") for n in range(3)]


@pytest.fixture
def fake_providers(io_loop: Any, provider_keys: list[Any]) -> Iterator[FakeProviders]:
    """Google-like OIDC issuer, Facebook and GitHub APIs on a loopback port (tests/fake_providers.py)."""
    fake = FakeProviders(keys=[provider_keys[0]])
    sock, port = tornado.testing.bind_unused_port()
    server = tornado.httpserver.HTTPServer(make_fake_app(fake))
    server.add_sockets([sock])
    fake.base_url = f"http://127.0.0.1:{port}"
    yield fake
    server.stop()
