"""What a server does once before it serves, in an order that changes nothing until it knows it can run.

1. The folders the settings name must be folders (DATA_DIR, JWT_KEYS, METRICS_DIR), not files.
2. DATA_DIR is locked (runtime/data_dir.py): a second server in the same folder stops here, having touched nothing.
3. The listening sockets are bound: a busy PORT or a HOST that is not this machine's stops the start before any
   child process runs, rather than after the embedded Redis and every service were built.
4. A first start gets its signing key, the metrics folder is emptied, the embedded Redis is started.

Each fault is a CannotStart naming its setting (one line, exit 2), and what was set up is undone in reverse. With
`serve --processes N` this runs once, in the supervisor, before it forks: the workers inherit all of it.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import tornado.netutil

from runtime.data_dir import DataDirLock
from runtime.errors import CannotStart
from runtime.redis_keeper import RedisKeeper
from services.config import Config
from services.infra import embedded_redis
from services.operations import Liveness, prepare_metrics_dir
from services.tokens import keyfiles

log = logging.getLogger("auth.server")


@dataclass(frozen=True)
class Prepared:
    """What every serving process of this server shares."""

    sockets: list[socket.socket]
    redis: RedisKeeper | None  # the embedded Redis when no REDIS_URL is set
    liveness: Liveness

    @property
    def port(self) -> int:
        """The port really listened on (PORT=0 asks the kernel for any free one)."""
        return int(self.sockets[0].getsockname()[1])


@contextlib.contextmanager
def prepared(config: Config) -> Iterator[Prepared]:
    _check_folders(config)
    lock = DataDirLock.acquire(Path(config.data_dir))
    sockets: list[socket.socket] = []
    keeper: RedisKeeper | None = None
    try:
        sockets = listen(config)
        ensure_signing_key(config)
        _prepare_metrics(config)
        liveness = Liveness()
        if config.embedded_redis:
            keeper = RedisKeeper(embedded_redis(config), liveness)
            try:
                keeper.start()
            except (RuntimeError, OSError) as exc:  # redis-server's reason, or no process could be made
                raise CannotStart(f"setting DATA_DIR: the embedded redis-server in {keeper.redis.folder} did not "
                                  f"start: {exc}") from None
        yield Prepared(sockets, keeper, liveness)
    finally:
        if keeper is not None:
            keeper.stop()
        for listening in sockets:
            listening.close()
        lock.release()


def _check_folders(config: Config) -> None:
    for name, value in (("DATA_DIR", config.data_dir), ("JWT_KEYS", config.jwt_keys),
                        ("METRICS_DIR", config.metrics_dir)):
        if value and Path(value).exists() and not Path(value).is_dir():
            raise CannotStart(f"setting {name}: {value} is a file, not a folder")


def listen(config: Config) -> list[socket.socket]:
    try:
        return tornado.netutil.bind_sockets(config.port, config.host)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        if exc.errno == errno.EADDRINUSE:
            raise CannotStart(f"setting PORT: {config.port} on {config.host} is taken by another process") from None
        if exc.errno == errno.EACCES:
            raise CannotStart(f"setting PORT: not allowed to listen on {config.port} ({reason}; ports below 1024 "
                              "need privileges)") from None
        raise CannotStart(f"setting HOST: cannot listen on {config.host!r}: {reason}") from None


def ensure_signing_key(config: Config) -> None:
    """First start of a development setup: an empty keys folder gets one key, said out loud."""
    folder = Path(config.jwt_keys)
    if not config.jwt_keys_auto_generate:
        return
    try:
        if any(keyfiles.scan(folder)):
            return
        kid = keyfiles.generate(folder, config.jwt_algorithm)
    except OSError as exc:
        raise CannotStart(f"setting JWT_KEYS: {folder} holds no key and none can be written there "
                          f"({exc.strerror or exc}): add a pair with `python server.py keys generate`, or make the "
                          "folder writable") from None
    log.warning("keys folder %s was empty: generated %s key %s (set JWT_KEYS_AUTO_GENERATE=false in "
                "production and manage keys with `python server.py keys`)", folder, config.jwt_algorithm, kid)


def _prepare_metrics(config: Config) -> None:
    """Before any service (and any worker process) writes a sample: see services/operations/metrics.py."""
    if not config.metrics_enabled:
        return
    try:
        prepare_metrics_dir(config.metrics_path)
    except OSError as exc:
        name = "METRICS_DIR" if config.metrics_dir else "DATA_DIR"
        raise CannotStart(f"setting {name}: cannot prepare the metrics folder {config.metrics_path}: "
                          f"{exc.strerror or exc}") from None
