"""`serve --processes N`: a supervisor and N forked workers on one port, each with its own key ring watcher.

No MongoDB server exists here and `--processes 2` rightly refuses the in-memory one, so the pool is run
through `serving.serve_processes` with each worker on its own in-memory MongoDB: these tests check only
what needs no shared users (keys, restarts, stopping), over real HTTP against the real processes.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from support.api import PASSWORD
from support.processes import (
    SERVER,
    alive,
    children_of,
    free_port,
    half_sent,
    read_all,
    refuses_connections,
    server_environ,
    wait_for,
)

from runtime import serving
from services.config import load_config
from services.tokens import keyfiles

ROOT = SERVER.parent
POOL = """
import logging, sys
from runtime import serving
from services.config import load_config
logging.basicConfig(level="INFO", format="%(asctime)s [%(process)d] %(levelname)s %(name)s: %(message)s")
sys.exit(serving.serve_processes(load_config(None), 2))
"""


@dataclass
class Pool:
    process: subprocess.Popen[bytes]
    port: int
    folder: Path

    @property
    def log(self) -> str:
        return (self.folder / "stderr.log").read_text(errors="replace")

    def workers(self) -> list[int]:
        """The supervisor's live children but its redis-server (one that just died reads as gone)."""
        return [pid for pid in children_of(self.process.pid) if alive(pid) and not is_redis(pid)]

    def jwks_kids(self) -> tuple[int, set[str]]:
        """GET /.well-known/jwks.json over a new connection: which worker answered, and the kids it lists."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            connection.request("GET", "/.well-known/jwks.json")
            response = connection.getresponse()
            assert response.status == 200
            kids = {key["kid"] for key in json.loads(response.read())["keys"]}
            assert connection.sock is not None
            return served_by(connection.sock.getsockname()[1], self.port, self.workers()), kids
        finally:
            connection.close()


def is_redis(pid: int) -> bool:
    try:
        return b"redis-server" in (Path("/proc") / str(pid) / "cmdline").read_bytes()
    except OSError:
        return False


def served_by(client_port: int, server_port: int, pids: list[int]) -> int:
    """The pid holding the server side of our connection: its socket inode in /proc/net/tcp, then whose fd it is."""
    wanted = (f"0100007F:{server_port:04X}", f"0100007F:{client_port:04X}")
    inode = next(line.split()[9] for line in Path("/proc/net/tcp").read_text().splitlines()[1:]
                 if tuple(line.split()[1:3]) == wanted)
    for pid in pids:
        for fd in (Path("/proc") / str(pid) / "fd").iterdir():
            try:
                if fd.readlink().name == f"socket:[{inode}]":
                    return pid
            except OSError:
                continue
    raise AssertionError(f"no worker of {pids} holds socket {inode}")


@pytest.fixture
def pool(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Pool]:
    """Two workers; `indirect` parametrization passes more settings."""
    port = free_port()
    environ = server_environ(PORT=str(port), JWT_KEYS=str(tmp_path / "keys"), DATA_DIR=str(tmp_path / "data"),
                             JWT_KEYS_RELOAD_SECONDS="0.2", PYTHONPATH=str(ROOT), BCRYPT_COST="4",
                             **getattr(request, "param", {}))
    with (tmp_path / "stderr.log").open("wb") as stderr:
        process = subprocess.Popen([sys.executable, "-c", POOL], cwd=tmp_path, env=environ,
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
                                   start_new_session=True)
    running = Pool(process, port, tmp_path)
    try:
        wait_for(lambda: running.log.count("key ring loaded") == 2)
        yield running
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_more_than_one_process_without_mongo_url_is_refused_at_start(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, str(SERVER), "serve", "--processes", "2"], cwd=tmp_path,
                            env=server_environ(), capture_output=True, timeout=30)
    assert result.returncode == 2
    assert b"configuration error: setting PROCESSES" in result.stderr
    assert b"set MONGO_URL" in result.stderr


def test_every_worker_picks_up_a_new_key_without_a_restart(pool: Pool) -> None:
    workers = pool.workers()
    assert len(workers) == 2
    new_kid = keyfiles.generate(pool.folder / "keys", "ES256")
    listing_it: set[int] = set()

    def every_worker_lists_the_new_key() -> bool:
        worker, kids = pool.jwks_kids()
        if new_kid in kids:
            listing_it.add(worker)
        return listing_it == set(workers)

    wait_for(every_worker_lists_the_new_key)
    assert pool.log.count(f"'{new_kid}'") >= 2, "each worker logs its own reload"


def test_a_killed_worker_is_replaced_and_the_port_keeps_answering(pool: Pool) -> None:
    victim, survivor = pool.workers()
    subprocess.run(["kill", "-KILL", str(victim)], check=True)
    now: list[int] = []

    def replaced() -> bool:
        now[:] = pool.workers()
        return len(now) == 2 and victim not in now

    wait_for(replaced)
    replacement = next(pid for pid in now if pid != survivor)
    assert not alive(victim)
    slot = next(line.split("worker ")[1].split()[0] for line in pool.log.splitlines()
                if line.endswith(f"started: pid {victim}"))
    assert f"worker {slot} was killed by SIGKILL" in pool.log
    assert f"worker {slot} started: pid {replacement}" in pool.log
    wait_for(lambda: pool.log.count("key ring loaded") == 3)
    assert {pool.jwks_kids()[0] for _ in range(100)} <= {survivor, replacement}
    assert pool.process.poll() is None


def test_sigterm_stops_every_worker_and_the_shared_redis(pool: Pool) -> None:
    everything = children_of(pool.process.pid)
    assert len(everything) == 3, "two workers and the embedded redis-server"
    pool.process.send_signal(signal.SIGTERM)
    assert pool.process.wait(timeout=30) == 0, pool.log
    assert not [pid for pid in everything if alive(pid)]
    assert not (pool.folder / "data" / "redis" / "redis.sock").exists()
    assert "Traceback" not in pool.log
    with pytest.raises(ConnectionRefusedError):
        http.client.HTTPConnection("127.0.0.1", pool.port, timeout=2).connect()


def test_sigterm_lets_a_worker_finish_the_request_it_is_reading(pool: Pool) -> None:
    """Issue 12, item 19: no fixed waits. `half_sent` returns once a worker counts the request in flight, and the
    port is watched until it refuses connections, however long a loaded machine takes to get there."""
    signup = json.dumps({"name": "Omar", "email": "omar@quazi.co", "password": PASSWORD}).encode()
    in_flight = half_sent(pool.port, "/signup", signup)
    pool.process.send_signal(signal.SIGTERM)
    wait_for(lambda: refuses_connections(pool.port))
    in_flight.sendall(signup[10:])
    head, _, body = read_all(in_flight).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK"), head
    assert b"\r\nConnection: close" in head
    assert b"auth/user-registered" in body
    assert pool.process.wait(timeout=30) == 0, pool.log


@pytest.mark.parametrize("pool", [{"SHUTDOWN_DELAY_SECONDS": "60"}], indirect=True)
def test_workers_serve_through_the_delay_and_a_second_sigterm_to_the_supervisor_ends_it(pool: Pool) -> None:
    workers = pool.workers()
    pool.process.send_signal(signal.SIGTERM)
    wait_for(lambda: pool.log.count("/readyz answers 503") == 2)  # each worker got it
    for _ in range(10):  # new connections, spread over both workers by the kernel
        assert pool.jwks_kids()[0] in workers
    connection = http.client.HTTPConnection("127.0.0.1", pool.port, timeout=5)
    connection.request("GET", "/readyz")
    assert connection.getresponse().status == 503
    signalled_again = time.monotonic()
    pool.process.send_signal(signal.SIGTERM)
    assert pool.process.wait(timeout=30) == 0, pool.log
    assert time.monotonic() - signalled_again < 10
    assert pool.log.count("skipping the rest of SHUTDOWN_DELAY_SECONDS") == 2
    assert not [pid for pid in workers if alive(pid)]


def test_the_supervisor_waits_for_the_delay_and_the_timeout_before_killing_a_worker() -> None:
    config = load_config(None, environ={}, shutdown_delay_seconds=15, shutdown_timeout_seconds=20)
    assert serving.worker_stop_deadline(config) == 15 + 20 + serving._STOP_GRACE_SECONDS


def test_metrics_from_any_worker_count_every_workers_requests(pool: Pool) -> None:
    """Prometheus multiprocess mode: each worker writes its own files, a scrape of any worker sums them all,
    and a killed worker's requests still count (counters never go backwards)."""
    answered_by: set[int] = set()
    requests = 0
    while answered_by != set(pool.workers()) or requests < 20:  # until both workers have answered some
        answered_by.add(pool.jwks_kids()[0])
        requests += 1
        assert requests < 500, "the kernel never handed a connection to one of the workers"
    victim = pool.workers()[0]
    subprocess.run(["kill", "-KILL", str(victim)], check=True)
    wait_for(lambda: len(pool.workers()) == 2 and victim not in pool.workers())
    connection = http.client.HTTPConnection("127.0.0.1", pool.port, timeout=5)
    connection.request("GET", "/metrics")
    response = connection.getresponse()
    assert response.status == 200
    text = response.read().decode()
    jwks = [line for line in text.splitlines()
            if line.startswith("auth_http_request_duration_seconds_count{") and 'route="JwksHandler"' in line]
    assert len(jwks) == 1, text
    assert float(jwks[0].rsplit(" ", 1)[1]) == requests


def redis_of(pool: Pool) -> int | None:
    found = [pid for pid in children_of(pool.process.pid) if alive(pid) and is_redis(pid)]
    return found[0] if len(found) == 1 else None


def readiness_from_a_new_connection(port: int) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", "/readyz")
        return connection.getresponse().status
    finally:
        connection.close()


def test_the_supervisor_starts_the_shared_redis_again_when_it_dies(pool: Pool) -> None:
    """Issue 12, item 12, with `--processes N`: the supervisor owns the embedded redis-server and keeps it."""
    first = redis_of(pool)
    assert first is not None
    subprocess.run(["kill", "-KILL", str(first)], check=True)
    wait_for(lambda: redis_of(pool) not in (None, first))
    wait_for(lambda: all(readiness_from_a_new_connection(pool.port) == 200 for _ in range(6)))
    assert "redis-server started again" in pool.log
    assert len(pool.workers()) == 2, "the workers were not restarted: they reconnected"
    replacement = redis_of(pool)
    assert replacement is not None
    pool.process.kill()  # no clean-up runs: the kernel's parent-death signal must end the new one too
    wait_for(lambda: not alive(replacement), within=10)


def test_every_workers_healthz_fails_once_the_shared_redis_cannot_be_brought_back(pool: Pool) -> None:
    redis = redis_of(pool)
    assert redis is not None
    os.kill(redis, signal.SIGSTOP)
    (pool.folder / "data" / "redis" / "appendonly.aof").write_bytes(b"this is not a command\r\n")
    os.kill(redis, signal.SIGKILL)
    answered_by: set[int] = set()

    def every_worker_says_it() -> bool:
        connection = http.client.HTTPConnection("127.0.0.1", pool.port, timeout=5)
        try:
            connection.request("GET", "/healthz")
            response = connection.getresponse()
            body = json.loads(response.read())
            assert connection.sock is not None
            worker = served_by(connection.sock.getsockname()[1], pool.port, pool.workers())
        finally:
            connection.close()
        if response.status == 503:
            assert body["checks"] == {"redis-server": "gave-up"}, body
            answered_by.add(worker)
        return answered_by == set(pool.workers())

    wait_for(every_worker_says_it, within=40)
