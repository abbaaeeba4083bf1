"""Fixtures only: a real Redis server and a real S3 API (moto) for the session; a fresh MongoDB database (in memory,
or on TEST_MONGO_URL's server: tests/support/mongo.py), key folder, upload folder and bucket per test. What tests
share besides fixtures is in tests/support/.

Tests talk to the app over HTTP with pytest-tornado's `http_client`; `api` wraps it so a test reads
like the API documentation: a request, then the asserted response.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tornado.httpclient
import tornado.httpserver
import tornado.testing
from support.api import Api
from support.captcha import FakeSiteVerify, siteverify_app
from support.cluster import RedisClusterServers
from support.loopback import serve
from support.mail import RecordingNotifier, SmtpServer
from support.mongo import MongoDatabases, drop_run, run_prefix
from support.processes import free_port
from support.providers import FakeProviders, make_fake_app, rsa_key
from support.pwned import FakePwnedPasswords, pwned_app
from support.s3 import MotoServer
from support.sms import SmsReceiver, twilio_app, webhook_app
from support.webhooks import Receiver, start_receiver

from handlers.application import make_app
from services.config import Config, load_config
from services.infra import EmbeddedRedis, redis_client
from services.tokens import keyfiles
from services.wiring import Services, build_services, start_services, stop_services


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
def settings(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Per-test config overrides: what a test asks for with `with_settings` (support/api.py), or a dict a test
    changes before `app` is built. Modules with settings of their own override this fixture."""
    return dict(getattr(request, "param", {}))


@pytest.fixture
def config(keys_dir: Path, redis_url: str, settings: dict[str, Any], tmp_path: Path) -> Config:
    values = {"jwt_keys": str(keys_dir), "redis_url": redis_url, "bcrypt_cost": 4,
              "jwt_keys_reload_seconds": 0.2, "port": 0, "upload_folder": str(tmp_path / "uploads"),
              "metrics_dir": str(tmp_path / "metrics"), "data_dir": str(tmp_path / "data"), **settings}
    return load_config(None, environ={}, **values)


@pytest.fixture
def notifier() -> RecordingNotifier:
    return RecordingNotifier()


@pytest.fixture(scope="session")
def mongo_run() -> Iterator[str]:
    """The run's prefix for database names; at the end, whatever of this run is left on a real server is dropped."""
    prefix = run_prefix()
    yield prefix
    drop_run(prefix)


@pytest.fixture
def databases(mongo_run: str, io_loop: Any) -> Iterator[MongoDatabases]:
    """Fresh MongoDB databases for one test (`databases.new()`), dropped when it ends."""
    made = MongoDatabases(mongo_run)
    yield made
    io_loop.run_sync(made.drop_all)


@pytest.fixture
def database(databases: MongoDatabases) -> Any:
    """The test's database: in memory (every call suspends, as the real driver's do), or on TEST_MONGO_URL."""
    return databases.new()


@pytest.fixture
def services(config: Config, database: Any, io_loop: Any, notifier: RecordingNotifier) -> Iterator[Services]:
    redis = redis_client(config.redis_url, config.redis_timeout_seconds)
    io_loop.run_sync(redis.flushdb)
    built = build_services(config, database, redis, notifier=notifier)
    io_loop.run_sync(lambda: start_services(built))
    yield built
    io_loop.run_sync(lambda: stop_services(built))


# --- S3: moto's server on a local port, reached over HTTP like any S3 endpoint ---------------------------


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


@pytest.fixture
def bucket(moto_server: MotoServer) -> str:
    """A new, empty bucket for one test."""
    name = f"pictures-{uuid.uuid4().hex[:12]}"
    moto_server.client().create_bucket(Bucket=name)
    return name


@pytest.fixture
def app(services: Services) -> Any:
    return make_app(services)


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


@pytest.fixture
def receiver(io_loop: Any) -> Iterator[Receiver]:
    """A hook and webhook receiver on a loopback port that checks every signature (support/webhooks.py)."""
    found, server = start_receiver()
    yield found
    server.stop()


# --- outside services: SMS, CAPTCHA, Pwned Passwords, each a fake over HTTP on loopback --------------------------


@pytest.fixture
def fake_twilio(io_loop: Any) -> Iterator[SmsReceiver]:
    fake = SmsReceiver()
    server, fake.base_url = serve(twilio_app(fake))
    yield fake
    server.stop()


@pytest.fixture
def sms_webhook(io_loop: Any) -> Iterator[SmsReceiver]:
    fake = SmsReceiver()
    server, fake.base_url = serve(webhook_app(fake))
    yield fake
    server.stop()


@pytest.fixture
def fake_siteverify(io_loop: Any) -> Iterator[FakeSiteVerify]:
    fake = FakeSiteVerify()
    server, fake.base_url = serve(siteverify_app(fake))
    yield fake
    server.stop()


@pytest.fixture
def fake_pwned(io_loop: Any) -> Iterator[FakePwnedPasswords]:
    fake = FakePwnedPasswords()
    server, fake.base_url = serve(pwned_app(fake))
    yield fake
    server.stop()
