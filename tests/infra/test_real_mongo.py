"""What only a real MongoDB can show; skipped without one (`TEST_MONGO_URL=mongodb://host:27017 scripts/test`).

The whole suite runs on that server too (tests/conftest.py gives every test a fresh database there); these are the
tests that need the server's own behaviour: its unique index under parallel sign-ups, its write concern errors,
its index conflicts met by a real start, a server coming back, and two processes sharing its users. CI runs them on
MongoDB 7 and 8, standalone and as a one-node replica set (.github/workflows/mongodb.yml).
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tornado.httpclient
from support.api import PASSWORD, Api
from support.mongo import MongoDatabases, TcpProxy, first_host, real_mongo_only
from support.processes import SERVER, server_environ, start_server, stop_server

from services.config import Config
from services.infra import redis_client
from services.outcomes import UNAVAILABLE
from services.wiring import Services, build_services, start_services, stop_services

pytestmark = real_mongo_only


async def replica_set(database: Any) -> bool:
    hello = await database.command("hello")
    return "setName" in hello


@pytest.mark.gen_test(timeout=60)
async def test_twenty_parallel_sign_ups_of_one_address_make_one_user(
        http_server: Any, base_url: str, services: Services) -> None:
    client = tornado.httpclient.AsyncHTTPClient(force_instance=True, max_clients=20)
    try:
        answers = await asyncio.gather(*(Api(client, base_url).signup() for _ in range(20)))
    finally:
        client.close()
    assert sorted(answer.status for answer in answers) == [200] + [409] * 19
    assert await services.users.count() == 1


@pytest.mark.gen_test(timeout=60)
async def test_a_write_concern_the_replica_set_cannot_meet_is_503_and_the_write_stays(
        config: Config, databases: MongoDatabases) -> None:
    """A one-node replica set asked for w:2 stores the write and reports UnsatisfiableWriteConcern (code 100):
    the "landed but failed" case, from the server itself (tests/infra/test_landed_writes.py injects it)."""
    database = databases.new(mongo_write_concern="2")
    if not await replica_set(database):
        pytest.skip("needs a replica set (a standalone refuses w:2 outright)")
    services = build_services(config, database, redis_client(config.redis_url, config.redis_timeout_seconds))
    await start_services(services)
    try:
        with pytest.raises(Exception) as raised:
            await services.users.create("omar@quazi.co", "Omar", "hash")
        assert getattr(raised.value, "code", None) == UNAVAILABLE.code
        assert await database.users.count_documents({"email": "omar@quazi.co"}) == 1
    finally:
        await stop_services(services)


@pytest.mark.gen_test(timeout=60)
async def test_a_replica_set_takes_the_majority_commit_quorum(config: Config, databases: MongoDatabases) -> None:
    database = databases.new()
    if not await replica_set(database):
        pytest.skip("needs a replica set")
    services = build_services(config, database, redis_client(config.redis_url, config.redis_timeout_seconds))
    await start_services(services)  # commitQuorum: "majority" on every createIndexes, accepted by the server
    try:
        assert services.indexes.built
        assert "email_unique" in await database.users.index_information()
    finally:
        await stop_services(services)


def serve_exit(tmp_path: Path, mongo_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SERVER), "serve", "--port", "0"], capture_output=True, text=True,
                          timeout=60, check=False, cwd=tmp_path,
                          env=server_environ(MONGO_URL=mongo_url, JWT_KEYS=str(tmp_path / "keys"),
                                             DATA_DIR=str(tmp_path / "data")))


@pytest.mark.gen_test(timeout=90)
async def test_a_real_start_on_conflicting_indexes_or_duplicates_exits_2_with_the_message(
        databases: MongoDatabases, tmp_path: Path) -> None:
    conflicting = databases.new()
    await conflicting.users.create_index([("email", 1)], name="email_1")
    duplicated = databases.new()
    await duplicated.users.insert_many([{"_id": "a", "email": "x@example.com"}, {"_id": "b", "email": "x@example.com"}])
    for database, expected in ((conflicting, 'db.users.dropIndex("email_1")'),
                               (duplicated, "some documents share a value of email")):
        result = await asyncio.to_thread(serve_exit, tmp_path, databases.url_of(database))
        assert result.returncode == 2, result.stderr
        assert expected in result.stderr and "Traceback" not in result.stderr


@pytest.fixture
def proxy() -> Iterator[TcpProxy]:
    forwarding = TcpProxy(first_host())
    yield forwarding
    forwarding.close()


def test_a_server_started_while_mongodb_is_down_turns_ready_when_it_comes_back(
        proxy: TcpProxy, databases: MongoDatabases, tmp_path: Path) -> None:
    """Item "Start without MongoDB": refused at start, then reachable; the indexes follow without a restart."""
    database = databases.new()
    server = start_server(tmp_path, MONGO_URL=proxy.url(database.name), MONGO_TIMEOUT_SECONDS="1")
    try:
        status, body = server.call("GET", "/readyz")
        assert (status, body["checks"]["mongo"]) == (503, "unavailable")
        proxy.open()
        assert _within(30, lambda: server.call("GET", "/readyz")[0] == 200), server.stderr
        assert server.call("POST", "/signup", {"email": "omar@quazi.co", "password": PASSWORD,
                                               "name": "Omar Quazi"})[0] == 200
    finally:
        stop_server(server.process)


def test_two_processes_share_their_users(databases: MongoDatabases, tmp_path: Path) -> None:
    """`serve --processes 2` on one MongoDB: a user signed up through one worker logs in through either."""
    database = databases.new()
    server = start_server(tmp_path, MONGO_URL=databases.url_of(database), PROCESSES="2", LOG_LEVEL="INFO")
    try:
        assert server.call("POST", "/signup", {"email": "omar@quazi.co", "password": PASSWORD,
                                               "name": "Omar Quazi"})[0] == 200
        for _ in range(20):  # a new connection each time: the kernel hands them to both workers
            assert server.call("POST", "/login", {"email": "omar@quazi.co", "password": PASSWORD})[0] == 200
        workers = {re.search(r"\[(\d+)\]", line)[1] for line in server.stderr.splitlines() if "POST /login" in line}
        assert len(workers) == 2, server.stderr
    finally:
        stop_server(server.process)


def _within(seconds: float, probe: Any) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if probe():
                return True
        except OSError:
            pass
        time.sleep(0.2)
    return False

