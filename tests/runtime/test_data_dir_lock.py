"""Issue 12, item 9: one server per DATA_DIR. A second start in the same folder used to start a redis-server of
its own there, which took over and then deleted the running server's socket (90 % of its requests were 503s).
Now the first start holds a lock on the folder for as long as it (or any of its workers) lives; a second start
exits 2 naming the process that holds it, and touches nothing."""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import subprocess
import sys
from pathlib import Path

from support.api import PASSWORD
from support.processes import (
    SERVER,
    Server,
    alive,
    children_of,
    free_port,
    server_environ,
    start_server,
    stop_server,
    wait_for,
    wait_until_serving,
)

LOCK_FILE = "server.lock"


def tree(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under `folder` by path, with its inode and modification time."""
    return {str(path.relative_to(folder)): (path.lstat().st_ino, path.lstat().st_mtime_ns)
            for path in folder.rglob("*") if path.name != "appendonly.aof"}  # the first server's own writes


def second_start(first: Server, **settings: str) -> subprocess.CompletedProcess[str]:
    environ = server_environ(JWT_KEYS=str(first.folder / "keys"), DATA_DIR=str(first.folder / "data"),
                             BCRYPT_COST="4", **settings)
    return subprocess.run([sys.executable, str(SERVER), "serve", "--port", str(free_port())], cwd=first.folder,
                          env=environ, capture_output=True, text=True, timeout=60, check=False)


def lock_is_held(data_dir: Path) -> bool:
    with (data_dir / LOCK_FILE).open("rb") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def test_a_second_start_in_the_same_folder_exits_2_naming_the_first_and_touches_nothing(tmp_path: Path) -> None:
    first = start_server(tmp_path)
    try:
        redis_pid = first.redis_child()
        assert first.call("POST", "/signup", {"name": "Omar", "email": "omar@quazi.co", "password": PASSWORD})[0] == 200
        before = tree(tmp_path / "data")

        second = second_start(first)
        assert second.returncode == 2, second.stderr
        lines = second.stderr.strip().splitlines()
        assert len(lines) == 1, second.stderr
        assert "DATA_DIR" in lines[0]
        assert f"pid {first.process.pid}" in lines[0]

        assert tree(tmp_path / "data") == before, "the second start changed the first one's folder"
        assert first.redis_child() == redis_pid
        for _ in range(20):
            assert first.call("GET", "/readyz")[0] == 200
        assert first.call("POST", "/login", {"email": "omar@quazi.co", "password": PASSWORD})[0] == 200
    finally:
        stop_server(first.process)
    assert not lock_is_held(tmp_path / "data"), "a stopped server leaves the folder free"
    again = start_server(tmp_path)
    stop_server(again.process)


def test_another_data_dir_starts_beside_it(tmp_path: Path) -> None:
    first = start_server(tmp_path)
    try:
        other = subprocess.Popen(
            [sys.executable, str(SERVER), "serve", "--port", str(port := free_port())], cwd=tmp_path,
            env=server_environ(JWT_KEYS=str(tmp_path / "keys"), DATA_DIR=str(tmp_path / "other-data")),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            neighbour = Server(other, port, tmp_path)
            wait_until_serving(neighbour)
            assert first.call("GET", "/readyz")[0] == neighbour.call("GET", "/readyz")[0] == 200
        finally:
            stop_server(other)
    finally:
        stop_server(first.process)


POOL = """
import logging, sys
from runtime import serving
from services.config import load_config
logging.basicConfig(level="INFO")
sys.exit(serving.serve_processes(load_config(None), 2))
"""


def test_workers_hold_the_lock_for_as_long_as_any_of_them_lives(tmp_path: Path) -> None:
    """`serve --processes N`: the workers share the supervisor's lock, so a worker still stopping after its
    supervisor died (killed: no clean-up ran) keeps the folder from a new start until it is gone too."""
    environ = server_environ(PORT=str(free_port()), JWT_KEYS=str(tmp_path / "keys"), DATA_DIR=str(tmp_path / "data"),
                             PYTHONPATH=str(SERVER.parent))
    with (tmp_path / "stderr.log").open("wb") as stderr:
        supervisor = subprocess.Popen([sys.executable, "-c", POOL], cwd=tmp_path, env=environ,
                                      stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
                                      start_new_session=True)
    try:
        wait_for(lambda: (tmp_path / "stderr.log").read_text().count("key ring loaded") == 2)
        workers = [pid for pid in children_of(supervisor.pid)
                   if b"redis-server" not in (Path("/proc") / str(pid) / "cmdline").read_bytes()]
        assert len(workers) == 2
        assert lock_is_held(tmp_path / "data")
        for worker in workers:
            os.kill(worker, signal.SIGSTOP)  # they cannot act on the parent-death signal while stopped
        supervisor.kill()
        supervisor.wait()
        assert lock_is_held(tmp_path / "data"), "the workers still hold it"
        for worker in workers:
            os.kill(worker, signal.SIGKILL)
        wait_for(lambda: not any(alive(worker) for worker in workers))
        # A killed worker's leader thread is a zombie before its other threads (the executors) have let go of
        # the shared file table: the lock goes with the last of them, moments later under load.
        wait_for(lambda: not lock_is_held(tmp_path / "data"), within=10)
    finally:
        with contextlib.suppress(ProcessLookupError):  # whatever is left of its session, stopped workers too
            os.killpg(supervisor.pid, signal.SIGKILL)
        supervisor.wait()
