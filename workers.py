"""`serve --processes N`: what all workers share is set up once in the parent, then N workers are forked.

Shared: the listening sockets (bound here, so every worker accepts on the same port and the kernel hands
each connection to one of them) and the embedded Redis, when no REDIS_URL is set. Everything else (the
event loop, the Redis and MongoDB clients, the key ring and its watcher, the thread pool) each worker
builds for itself after the fork: none of it survives a fork intact.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import socket
from collections.abc import Awaitable, Callable

import tornado.netutil

from services.backends import embedded_redis
from services.config import Config
from services.supervisor import Supervisor

log = logging.getLogger("auth.server")

# After SIGTERM a worker may take SHUTDOWN_TIMEOUT_SECONDS for its requests, then stops its services.
_STOP_GRACE_SECONDS = 10.0

Serve = Callable[[Config, list[socket.socket], str | None], Awaitable[int]]


def run_workers(config: Config, count: int, serve: Serve, *, on_worker_exit: Callable[[int], None],
                announce: Callable[[bool], None] = lambda embedded_redis_used: None) -> int:
    """Serve with `count` forked workers until SIGTERM/SIGINT; the process's exit code.

    No event loop may run in this process before the fork: each worker starts its own in `serve`.
    """
    sockets = tornado.netutil.bind_sockets(config.port, config.host)
    embedded = embedded_redis(config) if config.embedded_redis else None
    try:
        if embedded is not None:
            embedded.start()
        redis_url = embedded.url if embedded is not None else None

        def work(index: int) -> int:
            return asyncio.run(serve(config, sockets, redis_url))

        def stop_listening() -> None:
            # The workers close their copies on SIGTERM; with ours closed too, the kernel refuses new connections.
            for listening in sockets:
                listening.close()

        supervisor = Supervisor(count, work, on_worker_exit=on_worker_exit, on_stopping=stop_listening,
                                stop_timeout=config.shutdown_timeout_seconds + _STOP_GRACE_SECONDS)
        announce(embedded is not None)
        # Objects made so far are shared copy-on-write with every worker: keep the collector off them.
        gc.collect()
        gc.freeze()
        return supervisor.run()
    finally:
        for listening in sockets:
            listening.close()
        if embedded is not None:
            embedded.stop()
