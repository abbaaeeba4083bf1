"""Fixtures: a real Redis server and a real S3 API (moto) for the session; a fresh in-memory MongoDB, key
folder, upload folder and bucket per test.

Tests talk to the app over HTTP with pytest-tornado's `http_client`; `api` wraps it so a test reads
like the API documentation: a request, then the asserted response.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import tornado.httpclient
import tornado.httpserver
import tornado.testing
from fake_providers import FakeProviders, make_fake_app, rsa_key
from mailcatcher import SmtpServer
from mongomock_motor import AsyncMongoMockClient
from redis_cluster import RedisClusterServers

from handlers.application import make_app
from services.config import Config, load_config, setting_names
from services.infra import EmbeddedRedis, redis_client
from services.tokens import keyfiles
from services.wiring import Services, build_services, start_services, stop_services

PASSWORD = "Myverystrongpassword123@"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


SERVER = Path(__file__).resolve().parent.parent / "server.py"


def stop_server(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM a `server.py` started with `start_new_session=True`; if it hangs, kill its whole session
    (the server and its redis-server child), so no test leaves a process behind."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


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
def own_redis(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    """A redis-server of this test's own, to stop and restart (outages). Persistent, as the embedded default
    and any production Redis must be: sessions live there."""
    server = EmbeddedRedis(tmp_path / "own-redis", port=free_port(), persistent=True)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisClusterServers]:
    """A real three-primary Redis Cluster for the whole run, started only if a test asks for it."""
    cluster = RedisClusterServers(tmp_path_factory.mktemp("redis-cluster"))
    cluster.start()
    yield cluster
    cluster.stop()


@pytest.fixture
def redis_url(request: pytest.FixtureRequest, redis_server: EmbeddedRedis) -> str:
    """The Redis the app and `redis` use: the standalone server, or the cluster for the `[cluster]` variant
    of a test marked `redis_cluster_too`."""
    if getattr(request, "param", "standalone") == "cluster":
        return str(request.getfixturevalue("redis_cluster").url)
    return redis_server.url


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "redis_cluster_too: run the test against a Redis Cluster as well")
    config.addinivalue_line("markers", "standalone_redis_only: exempt one test of a `redis_cluster_too` module")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    definition = metafunc.definition
    if definition.get_closest_marker("redis_cluster_too") and not definition.get_closest_marker(
            "standalone_redis_only"):
        if "redis_url" not in metafunc.fixturenames:
            if "http_client" not in metafunc.fixturenames:
                return  # no Redis at all
            metafunc.fixturenames.append("redis_url")  # pytest-tornado asks for `app` at run time, out of sight
        metafunc.parametrize("redis_url", ["standalone", "cluster"], indirect=True)


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer(free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def mailbox(smtp_server: SmtpServer) -> SmtpServer:
    """The session's SMTP server (plain, no login), emptied for this test."""
    smtp_server.clear()
    return smtp_server


def mail_settings(smtp: SmtpServer, **more: Any) -> dict[str, Any]:
    """Settings that send mail to `smtp`, retrying fast."""
    return {"mail_backend": "smtp", "smtp_host": "127.0.0.1", "smtp_port": smtp.port, "smtp_security": "none",
            "mail_retry_base_seconds": 0.05, "mail_retry_max_seconds": 0.5, "mail_send_timeout_seconds": 5, **more}


async def settle(outbox: Any) -> None:
    """Wait until the mail worker has dealt with every queued message."""
    for _ in range(500):
        if await outbox.pending() == 0:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the outbox did not empty")


@pytest.fixture
def redis(redis_url: str, io_loop: Any) -> Iterator[Any]:
    """A client of the session's Redis, flushed (every primary of a cluster), for tests of a service on its own."""
    client = redis_client(redis_url, 1.0)
    io_loop.run_sync(client.flushdb)
    yield client
    io_loop.run_sync(client.aclose)


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
def config(keys_dir: Path, redis_url: str, settings: dict[str, Any], tmp_path: Path) -> Config:
    values = {"jwt_keys": str(keys_dir), "redis_url": redis_url, "bcrypt_cost": 4,
              "jwt_keys_reload_seconds": 0.2, "port": 0, "upload_folder": str(tmp_path / "uploads"),
              "metrics_dir": str(tmp_path / "metrics"), **settings}
    return load_config(None, environ={}, **values)


@dataclass
class RecordingNotifier:
    """Stands in for the mailer: remembers every notice instead of sending it."""

    deleted: list[tuple[str, str]] = field(default_factory=list)

    async def account_deleted(self, email: str, name: str) -> None:
        self.deleted.append((email, name))


@pytest.fixture
def notifier() -> RecordingNotifier:
    return RecordingNotifier()


@pytest.fixture
def services(config: Config, io_loop: Any, notifier: RecordingNotifier) -> Iterator[Services]:
    redis = redis_client(config.redis_url, config.redis_timeout_seconds)
    io_loop.run_sync(redis.flushdb)
    built = build_services(config, AsyncMongoMockClient()["test"], redis, notifier=notifier)
    io_loop.run_sync(lambda: start_services(built))
    yield built
    io_loop.run_sync(lambda: stop_services(built))


# --- S3: moto's server on a local port, reached over HTTP like any S3 endpoint ---------------------------


class MotoServer:
    """moto's S3 API in a thread of this process; stop() and start() again on the same port keep its buckets."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self._server: Any = None

    def start(self) -> None:
        from moto.server import ThreadedMotoServer

        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def client(self) -> Any:
        """A plain boto3 client, to look into the bucket behind the server's back."""
        import boto3

        return boto3.client("s3", endpoint_url=self.url, region_name="us-east-1", aws_access_key_id="test-key",
                            aws_secret_access_key="test-secret")


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    server = MotoServer(free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def own_s3() -> Iterator[MotoServer]:
    """An S3 server of one test alone, so stopping it touches no other test."""
    server = MotoServer(free_port())
    server.start()
    yield server
    server.stop()


def s3_settings(server: MotoServer, bucket: str) -> dict[str, Any]:
    return {"storage_backend": "s3", "s3_bucket": bucket, "s3_endpoint_url": server.url,
            "s3_access_key_id": "test-key", "s3_secret_access_key": "test-secret", "storage_timeout_seconds": 2}


@pytest.fixture
def bucket(moto_server: MotoServer) -> str:
    """A new, empty bucket for one test."""
    name = f"pictures-{uuid.uuid4().hex[:12]}"
    moto_server.client().create_bucket(Bucket=name)
    return name


def bucket_keys(server: MotoServer, bucket: str) -> list[str]:
    listing = server.client().list_objects_v2(Bucket=bucket)
    return sorted(item["Key"] for item in listing.get("Contents", []))


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
