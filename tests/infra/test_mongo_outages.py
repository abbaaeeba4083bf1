"""A MongoDB that is down, silent or out of time answers 503 `auth/unavailable` within MONGO_TIMEOUT_SECONDS.

These run PyMongo's real `AsyncMongoClient`, built as the server builds it (services/infra/backends.py), against
what needs no MongoDB server: a refused port, a black hole (accepts, never answers a byte), and a fake that answers
the driver's handshake and then stalls, or fails every command with MaxTimeMSExpired (tests/support/fake_mongo.py).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tornado.httpclient
from pymongo.errors import InvalidOperation
from support.api import PASSWORD, Api, assert_error
from support.fake_mongo import FakeMongo
from support.mongo import BlackHole, refused_url
from support.processes import SERVER, server_environ, start_server, stop_server

from services.config import Config
from services.infra import mongo_database
from services.outcomes import UNAVAILABLE
from services.wiring import Services, stop_services

TIMEOUT = 2.0  # each store call ends here (services/infra/mongo_guard.py); the 1.5x is the request around it
# pytest-tornado asks for `app` at run time, out of pytest's sight: the tests through `api` name `mongo_url` too.


@pytest.fixture(params=["refused", "black-hole", "stalls-after-handshake"])
def mongo_url(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "refused":
        yield refused_url()
        return
    server = BlackHole() if request.param == "black-hole" else FakeMongo("stall")
    yield server.url
    server.close()


@pytest.fixture
def settings(mongo_url: str) -> dict[str, Any]:
    return {"mongo_url": mongo_url, "mongo_timeout_seconds": TIMEOUT, "readiness_timeout_seconds": 2 * TIMEOUT}


@pytest.fixture
def database(config: Config) -> Any:
    """The server's own client on MONGO_URL, in place of the suite's test database."""
    return mongo_database(config)


async def timed(call: Any) -> tuple[float, Any]:
    started = time.monotonic()
    response = await call
    return time.monotonic() - started, response


@pytest.mark.gen_test(timeout=60)
async def test_thirty_concurrent_logins_all_answer_503_within_one_and_a_half_times_the_bound(
        http_server: Any, base_url: str, mongo_url: str) -> None:
    """Item "Driver": with Motor a silent server held each read 25 s, and 30 reads queued for 15 s."""
    client = tornado.httpclient.AsyncHTTPClient(force_instance=True, max_clients=30)  # all 30 at once, not 10
    api = Api(client, base_url)
    results = await asyncio.gather(*(timed(api.login(email=f"user{n}@example.com", password=PASSWORD))
                                     for n in range(30)))
    client.close()
    for _, response in results:
        assert_error(response, 503, UNAVAILABLE.code)
        assert "Retry-After" in response.headers
    slowest = max(seconds for seconds, _ in results)
    assert slowest <= 1.5 * TIMEOUT, f"slowest of 30 concurrent logins took {slowest:.2f} s"


@pytest.mark.gen_test(timeout=60)
async def test_readiness_answers_503_naming_mongodb_and_the_rest_still_works(api: Api, mongo_url: str) -> None:
    """Item "Start without MongoDB": the server started, and says which dependency it lacks."""
    assert (await api.get("/")).status == 200
    response = await api.get("/readyz")
    assert response.status == 503
    assert response.json["checks"] == {"redis": "ok", "mongo": "unavailable", "keys": "ok"}


@pytest.mark.gen_test(timeout=60)
async def test_a_sign_up_answers_503_in_time(api: Api, mongo_url: str) -> None:
    seconds, response = await timed(api.signup())
    assert_error(response, 503, UNAVAILABLE.code)
    assert seconds <= 1.5 * TIMEOUT + 1  # + one bcrypt hash at the tests' cost


@pytest.mark.gen_test(timeout=60)
async def test_stopping_closes_the_mongodb_client(services: Services, database: Any) -> None:
    await stop_services(services)
    with pytest.raises(InvalidOperation):  # a closed client refuses to be used again, before any I/O
        await database.command("ping")


class TestExecutionTimeout:
    """MaxTimeMSExpired from the server (the driver sends what is left of timeoutMS as maxTimeMS)."""

    @pytest.fixture
    def mongo_url(self) -> Iterator[str]:
        server = FakeMongo("max-time")
        yield server.url
        server.close()

    @pytest.mark.gen_test(timeout=60)
    async def test_an_execution_timeout_is_503(self, api: Api) -> None:
        assert_error(await api.login(), 503, UNAVAILABLE.code)


def run_cli(*args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SERVER), *args], capture_output=True, text=True, timeout=60,
                          env=server_environ(MONGO_TIMEOUT_SECONDS=str(TIMEOUT), **settings), check=False)


@pytest.mark.parametrize("args", [("users", "list"), ("users", "show", "omar@quazi.co"),
                                  ("sessions", "revoke-all", "--user", "omar@quazi.co")])
def test_the_command_line_names_the_mongodb_it_could_not_reach(redis_url: str, tmp_path: Path,
                                                               args: tuple[str, ...]) -> None:
    url = refused_url().replace("mongodb://", "mongodb://admin:s3cret@")
    result = run_cli(*args, MONGO_URL=url, REDIS_URL=redis_url, JWT_KEYS=str(tmp_path))
    host = url.rpartition("@")[2].split("/")[0]
    assert result.returncode == 1, result.stderr
    assert f"error: MongoDB at {host} (MONGO_URL) did not answer within 2 s (MONGO_TIMEOUT_SECONDS)" in result.stderr
    assert "Errno 111" in result.stderr  # what the driver saw: the connection refused
    assert "s3cret" not in result.stderr and "Traceback" not in result.stderr


def test_the_command_line_names_the_redis_it_could_not_reach(tmp_path: Path) -> None:
    redis = refused_url().replace("mongodb://", "redis://").rsplit("/", 1)[0] + "/0"
    result = run_cli("sessions", "revoke-all", REDIS_URL=redis, JWT_KEYS=str(tmp_path))
    assert result.returncode == 1, result.stderr
    assert f"error: Redis at {redis.split('//')[1].split('/')[0]} (REDIS_URL) did not answer" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_server_starts_without_mongodb_and_says_so(tmp_path: Path) -> None:
    """Item "Start without MongoDB", as a process: before, the first index creation ended the start with a
    traceback."""
    url = refused_url()
    server = start_server(tmp_path, MONGO_URL=url, MONGO_TIMEOUT_SECONDS="1")
    try:
        status, body = server.call("GET", "/readyz")
        assert (status, body["checks"]["mongo"]) == (503, "unavailable")
        assert server.call("POST", "/signup", {"email": "omar@quazi.co", "password": PASSWORD,
                                               "name": "Omar Quazi"})[0] == 503
        host = url.split("//")[1].split("/")[0]
        assert f"MongoDB at {host} cannot be reached: serving without it" in server.stderr
        assert "Traceback" not in server.stderr
    finally:
        stop_server(server.process)
