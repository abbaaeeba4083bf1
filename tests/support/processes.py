"""Running `server.py` as a real process: ports, environments, waiting for it to serve, stopping it and its children."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from services.config import setting_names

SERVER = Path(__file__).resolve().parents[2] / "server.py"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


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


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    folder: Path

    @property
    def stderr(self) -> str:
        return (self.folder / "stderr.log").read_text(errors="replace")

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (our own local server)
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def redis_child(self) -> int:
        """The one redis-server this server started."""
        pids = [pid for pid in children_of(self.process.pid)
                if b"redis-server" in (Path("/proc") / str(pid) / "cmdline").read_bytes()]
        assert len(pids) == 1, children_of(self.process.pid)
        return pids[0]


def children_of(pid: int) -> list[int]:
    """Pids whose parent is `pid`, read from /proc (no pgrep needed)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    """Running and not a zombie waiting to be reaped."""
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_for(probe: Callable[[], object], within: float = 30.0) -> None:
    """Poll `probe` until it holds; fail the test with what it was waiting for if `within` seconds pass first."""
    deadline = time.monotonic() + within
    while not probe():
        if time.monotonic() > deadline:
            pytest.fail(f"{probe} did not come true within {within} s")
        time.sleep(0.05)


def wait_until_serving(server: Server, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"server exited with {server.process.returncode}:\n{server.stderr}")
        try:
            if server.call("GET", "/")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    pytest.fail(f"server did not answer within {within} s:\n{server.stderr}")


def start_server(tmp_path: Path, **settings: str) -> Server:
    """`server.py serve` on a free port in its own session, in `tmp_path`, answering once this returns."""
    environ = server_environ(JWT_KEYS=str(tmp_path / "keys"), DATA_DIR=str(tmp_path / "data"), BCRYPT_COST="4",
                             **settings)
    port = free_port()
    with (tmp_path / "stderr.log").open("wb") as stderr:
        process = subprocess.Popen([sys.executable, str(SERVER), "serve", "--port", str(port)], cwd=tmp_path,
                                   env=environ, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
                                   start_new_session=True)
    server = Server(process, port, tmp_path)
    wait_until_serving(server)
    return server


def half_sent(port: int, path: str, body: bytes) -> socket.socket:
    """A POST whose headers and first 10 bytes of body the server has read: it returns once the server counts the
    request in flight (waiting for that, not sleeping a guess, keeps it right on a loaded machine)."""
    client = socket.create_connection(("127.0.0.1", port), timeout=10)
    client.sendall(b"POST %s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                   b"Content-Length: %d\r\n\r\n" % (path.encode(), len(body)) + body[:10])
    wait_for(lambda: requests_in_flight(port) >= 2)  # this one, and the scrape that asks
    return client


def requests_in_flight(port: int) -> float:
    """The server's `auth_http_requests_in_flight`, summed over its processes, the scrape itself included."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        for line in response.read().decode().splitlines():
            if line.startswith("auth_http_requests_in_flight "):
                return float(line.split()[1])
    return 0.0


def refuses_connections(port: int) -> bool:
    """Whether nothing listens on `port` any more."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def read_all(client: socket.socket) -> bytes:
    received = b""
    while chunk := client.recv(65536):
        received += chunk
    return received
