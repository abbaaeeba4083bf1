"""The real process: `python server.py serve` with nothing configured runs on embedded stores and stops cleanly."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.api import PASSWORD
from support.processes import SERVER, Server, alive, free_port, server_environ, wait_until_serving

from services.tokens import keyfiles


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    environ = server_environ(JWT_KEYS=str(tmp_path / "keys"), DATA_DIR=str(tmp_path / "data"), BCRYPT_COST="4")
    port = free_port()
    with (tmp_path / "stderr.log").open("wb") as stderr:
        process = subprocess.Popen([sys.executable, str(SERVER), "serve", "--port", str(port)],
                                   cwd=tmp_path, env=environ, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=stderr)
    running = Server(process, port, tmp_path)
    try:
        wait_until_serving(running)
        yield running
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_embedded_defaults_serve_and_a_sigterm_stops_everything(server: Server) -> None:
    assert not (server.folder / "config.yaml").exists()
    banner = server.stderr
    assert "USERS ARE STORED IN MEMORY" in banner
    assert "Redis is embedded" in banner
    assert f"listening on http://127.0.0.1:{server.port}/" in banner

    kids = list(keyfiles.scan(server.folder / "keys"))
    assert len(kids) == 1, "an empty keys folder gets one generated key"
    assert keyfiles.load(server.folder / "keys", kids[0]).can_sign
    assert server.call("GET", "/settings/keys")[1].keys() == set(kids)

    # The embedded stores really work: sign up, log in, read the account back.
    assert server.call("POST", "/signup", {"name": "Omar", "email": "omar@quazi.co", "password": PASSWORD})[0] == 200
    status, login = server.call("POST", "/login", {"email": "omar@quazi.co", "password": PASSWORD})
    assert status == 200, login
    assert login["tokens"]["access_token"].count(".") == 2

    redis_pid = server.redis_child()
    socket_path = server.folder / "data" / "redis" / "redis.sock"
    assert socket_path.exists()

    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=10) == 0, server.stderr
    assert not alive(redis_pid), "redis-server outlived the server"
    assert not socket_path.exists()
    assert "Traceback" not in server.stderr


def test_sigint_stops_the_server_and_its_redis_too(server: Server) -> None:
    redis_pid = server.redis_child()
    server.process.send_signal(signal.SIGINT)
    assert server.process.wait(timeout=10) == 0, server.stderr
    assert not alive(redis_pid)


def test_a_killed_server_takes_its_redis_with_it(server: Server) -> None:
    """SIGKILL runs no clean-up: the kernel's parent-death signal must end redis-server instead."""
    redis_pid = server.redis_child()
    server.process.kill()
    server.process.wait(timeout=10)
    deadline = time.monotonic() + 5
    while alive(redis_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(redis_pid)
