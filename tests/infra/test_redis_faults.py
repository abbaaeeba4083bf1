"""Issue 12, items 11 and 13: a Redis that refuses writes, and a Redis that hangs.

A real redis-server is made to refuse writes the ways production ones do: out of memory under `noeviction`
(`OOM`), unable to persist a snapshot (`MISCONF`), or demoted to a replica after a failover (`READONLY`). Every
request then answers 503 `auth/unavailable` with `Retry-After` (never a 500), `/readyz` says so, and everything
comes back once Redis does. A hung Redis is a black hole: a listener that accepts connections and never
answers; a request waits for it one REDIS_TIMEOUT_SECONDS, not one per retry.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from support.api import Api, eventually
from support.mail import RecordingNotifier
from support.processes import free_port

from services.config import Config
from services.infra import EmbeddedRedis, redis_client
from services.wiring import Services, build_services, start_services, stop_services


@pytest.fixture
def services(config: Config, database: Any, io_loop: Any, notifier: RecordingNotifier) -> Iterator[Services]:
    """The suite's services, without the flush of a shared Redis: each Redis here is this test's own."""
    built = build_services(config, database, redis_client(config.redis_url, config.redis_timeout_seconds),
                           notifier=notifier)
    io_loop.run_sync(lambda: start_services(built))
    yield built
    io_loop.run_sync(lambda: stop_services(built))


# --- refusing writes (item 11) ---------------------------------------------------------------------------


@pytest.fixture
def settings(request: pytest.FixtureRequest, own_redis: EmbeddedRedis) -> dict[str, Any]:
    return {"redis_url": own_redis.url, "redis_timeout_seconds": 0.5, "readiness_timeout_seconds": 0.5,
            "unavailable_retry_after": 7, **getattr(request, "param", {})}


def admin(own_redis: EmbeddedRedis) -> Any:
    """A client of our own, so the app's pool is not the one reconfiguring the server."""
    return redis_client(own_redis.url, 2.0)


async def out_of_memory(redis: Any, folder: Path) -> Callable[[], Awaitable[None]]:
    await redis.config_set("maxmemory-policy", "noeviction")
    await redis.config_set("maxmemory", "1")

    async def recover() -> None:
        await redis.config_set("maxmemory", "0")

    return recover


async def disk_full(redis: Any, folder: Path) -> Callable[[], Awaitable[None]]:
    """A snapshot that cannot be written (its file name taken by a folder), with `stop-writes-on-bgsave-error`."""

    async def last_snapshot(status: str) -> bool:
        return bool((await redis.info("persistence"))["rdb_last_bgsave_status"] == status)

    (folder / "dump.rdb").mkdir()
    await redis.config_set("save", "3600 1")
    await redis.bgsave()
    assert await eventually(lambda: last_snapshot("err"))

    async def recover() -> None:
        (folder / "dump.rdb").rmdir()
        await redis.bgsave()
        assert await eventually(lambda: last_snapshot("ok"))

    return recover


async def demoted(redis: Any, folder: Path) -> Callable[[], Awaitable[None]]:
    """A primary turned replica by a failover, of a primary it cannot reach: it keeps its data, refuses writes."""
    await redis.execute_command("REPLICAOF", "127.0.0.1", str(free_port()))

    async def recover() -> None:
        await redis.execute_command("REPLICAOF", "NO", "ONE")

    return recover


REFUSALS = {"oom": out_of_memory, "misconf": disk_full, "readonly": demoted}


async def every_kind_of_request(api: Api, tokens: dict[str, str]) -> dict[str, Any]:
    return {
        "POST /signup": await api.signup(email="second@quazi.co"),
        "POST /login": await api.login(),
        "POST /refresh": await api.post("/refresh", {"token": tokens["refresh_token"]}),
        "GET /user": await api.get("/user", token=tokens["access_token"]),
        "POST /password/forgot": await api.post("/password/forgot", {"email": "omar@quazi.co"}),
        "POST /logout": await api.post("/logout", token=tokens["access_token"]),
    }


@pytest.mark.parametrize("refusal", sorted(REFUSALS))
@pytest.mark.gen_test(timeout=60)
async def test_a_redis_refusing_writes_answers_503_and_readyz_says_so(
        refusal: str, api: Api, own_redis: EmbeddedRedis) -> None:
    tokens = (await api.signed_up_tokens())
    redis = admin(own_redis)
    recover = await REFUSALS[refusal](redis, own_redis.folder)
    try:
        answers = await every_kind_of_request(api, tokens)
        for name, response in answers.items():
            assert response.status in (200, 503), (name, response.status, response.body)
            if response.status == 503:
                assert response.json["code"] == "auth/unavailable", name
                assert response.headers["Retry-After"] == "7", name
        for name in ("POST /signup", "POST /login", "POST /refresh"):  # each must write to Redis
            assert answers[name].status == 503, name
        ready = await api.get("/readyz")
        assert ready.status == 503, ready.body
        assert ready.json["checks"]["redis"] == "refusing-writes"
    finally:
        await recover()
        await redis.aclose()
    assert (await api.get("/readyz")).json["checks"]["redis"] == "ok"
    assert (await api.login()).status == 200
    assert (await api.signup(email="third@quazi.co")).status == 200


# --- a hung Redis (item 13) ------------------------------------------------------------------------------


class BlackHole:
    """A TCP listener that accepts every connection and never sends a byte: what a hung Redis looks like."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.accepted: list[socket.socket] = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self._listener.getsockname()[1]}/0"

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                self.accepted.append(self._listener.accept()[0])
            except TimeoutError:
                continue

    def close(self) -> None:
        self._stopping.set()
        self._thread.join()
        for connection in [*self.accepted, self._listener]:
            connection.close()


@pytest.fixture
def black_hole() -> Iterator[BlackHole]:
    hole = BlackHole()
    yield hole
    hole.close()


@pytest.mark.gen_test(timeout=30)
async def test_a_hung_redis_costs_a_command_one_timeout_and_one_connection(black_hole: BlackHole) -> None:
    client = redis_client(black_hole.url, 0.3)
    try:
        for _ in range(2):  # a fresh connection, then the pool's next one: neither is retried into a second wait
            started, before = time.monotonic(), len(black_hole.accepted)
            with pytest.raises(Exception, match="Timeout"):
                await client.get("anything")
            assert time.monotonic() - started < 0.45
            assert len(black_hole.accepted) - before == 1
    finally:
        await client.aclose()


@pytest.fixture
def hung_settings(black_hole: BlackHole, settings: dict[str, Any]) -> None:
    settings.update(redis_url=black_hole.url)


@pytest.mark.gen_test(timeout=60)
async def test_a_request_to_a_hung_redis_answers_503_within_one_timeout(hung_settings: None, api: Api) -> None:
    for request in (api.login, lambda: api.post("/refresh", {"token": "x.y.z"}), api.signup):
        started = time.monotonic()
        response = await request()
        took = time.monotonic() - started
        assert response.status == 503, response.body
        assert took < 0.5 * 1.5, f"{took:.2f} s: more than one REDIS_TIMEOUT_SECONDS"
    assert (await api.get("/")).status == 200


@pytest.mark.gen_test(timeout=30)
async def test_a_hung_cluster_node_costs_a_command_one_timeout(redis_cluster: Any) -> None:
    """A primary that stops answering (CLIENT PAUSE: its clients wait, the cluster bus does not) is not retried
    into a second wait by the cluster client."""
    client = redis_client(redis_cluster.url, 0.3)
    await client.set("paused-key", "1")
    owner = client.get_node_from_key("paused-key")
    direct = redis_client(f"redis://{owner.host}:{owner.port}/0", 2.0)
    try:
        await direct.execute_command("CLIENT", "PAUSE", "1500", "ALL")
        started = time.monotonic()
        with pytest.raises(Exception, match="Timeout"):
            await client.get("paused-key")
        assert time.monotonic() - started < 0.45
    finally:
        await asyncio.sleep(1.5)  # the pause ends by itself: leave the session's cluster as it was
        assert await client.get("paused-key") == "1"
        await direct.aclose()
        await client.aclose()
