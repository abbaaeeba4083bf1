"""How the server runs: `serve` is one serving process; `serve_processes` binds the port once and forks N of them.

With `serve --processes N`, what all workers share is set up once in the parent: the listening sockets (every
worker accepts on the same port and the kernel hands each connection to one of them), the embedded Redis when no
REDIS_URL is set, the signing key of a first start and the metrics folder. Everything else (the event loop, the
Redis and MongoDB clients, the key ring and its watcher, the thread pool) each worker builds for itself after the
fork: none of it survives a fork intact.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import tornado.netutil

from handlers.application import make_app
from runtime.http_server import DrainingHTTPServer
from runtime.supervisor import CONFIGURATION_ERROR, Supervisor
from services.config import Config, ConfigError
from services.infra import IndexConflict, embedded_redis, mongo_database, redis_client
from services.operations import mark_process_dead, prepare_metrics_dir
from services.tokens import keyfiles
from services.wiring import Services, build_services, start_services, stop_services

log = logging.getLogger("auth.server")

# After SIGTERM a worker keeps serving SHUTDOWN_DELAY_SECONDS, may take SHUTDOWN_TIMEOUT_SECONDS for its
# requests, then stops its services within this much more, or the supervisor kills it.
_STOP_GRACE_SECONDS = 10.0


def worker_stop_deadline(config: Config) -> float:
    """How long the supervisor waits for a worker after passing SIGTERM on, before it kills it."""
    return config.shutdown_delay_seconds + config.shutdown_timeout_seconds + _STOP_GRACE_SECONDS


def _run_workers(config: Config, count: int, *, on_worker_exit: Callable[[int], None],
                 announce: Callable[[bool], None]) -> int:
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
                                stop_timeout=worker_stop_deadline(config))
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


async def serve(config: Config, sockets: list[socket.socket] | None = None, redis_url: str | None = None) -> int:
    """One serving process. A worker of `serve --processes N` gets its listening `sockets` and the embedded
    Redis's `redis_url` from the parent ; alone, the process binds and starts them itself."""
    embedded = embedded_redis(config) if config.embedded_redis and redis_url is None else None
    executor = ThreadPoolExecutor(max_workers=os.cpu_count() or 2, thread_name_prefix="auth-cpu",
                                  initializer=lower_thread_priority)
    # Password strength estimates one at a time (a crafted password costs zxcvbn up to 0.2 s): a flood of them
    # waits for this thread and never takes the bcrypt threads logins need (services/accounts/passwords.py).
    strength = ThreadPoolExecutor(max_workers=1, thread_name_prefix="auth-strength", initializer=lower_thread_priority)
    stopping = _StopSignals()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.received)
    try:
        if embedded is not None:
            embedded.start()
        redis = redis_client(redis_url or (embedded.url if embedded else config.redis_url),
                             config.redis_timeout_seconds)
        if sockets is None:  # a worker's parent did these once for all workers (serve_processes)
            ensure_signing_key(config)
            _prepare_metrics(config)
        services = build_services(config, mongo_database(config), redis, executor, strength_executor=strength)
        await start_services(services)
        if services.tokens.keyring.signing_key is None:
            log.error("no signing key in %s: run `python server.py keys generate`", config.jwt_keys)
        # The handlers enforce MAX_CONTENT_LENGTH themselves, with a JSON 413; Tornado's own cap would just hang up.
        server = DrainingHTTPServer(make_app(services), xheaders=False, max_body_size=1 << 40)
        if sockets is None:
            server.listen(config.port, config.host)
        else:
            server.add_sockets(sockets)
        # What start-up built lives as long as the process: move it out of the collector's way, or every full
        # collection walks those objects while every request in flight waits (GET /user p99, see bench/README.md).
        gc.collect()
        gc.freeze()
        if sockets is None:
            _banner(config, embedded is not None)
        await stopping.first.wait()
        await _shut_down(config, server, services, stopping.second)
    except (ConfigError, IndexConflict) as exc:  # found at start-up: REDIS_URL's kind, an index that changed
        log.critical("configuration error: %s", exc)
        return CONFIGURATION_ERROR
    finally:
        if embedded is not None:
            embedded.stop()
        executor.shutdown(wait=False, cancel_futures=True)
        strength.shutdown(wait=False, cancel_futures=True)
    return 0


class _StopSignals:
    """SIGTERM or SIGINT: the first starts the shutdown, a second one cuts SHUTDOWN_DELAY_SECONDS short."""

    def __init__(self) -> None:
        self.first = asyncio.Event()
        self.second = asyncio.Event()

    def received(self) -> None:
        (self.second if self.first.is_set() else self.first).set()


async def _shut_down(config: Config, server: DrainingHTTPServer, services: Services,
                     hurry: asyncio.Event) -> None:
    """SIGTERM: /readyz turns 503 and, for SHUTDOWN_DELAY_SECONDS, everything else is served as before, so load
    balancers stop routing here while nobody is refused; then no new connections, requests in flight finish
    (at most SHUTDOWN_TIMEOUT_SECONDS), and the services stop."""
    services.operations.readiness.start_draining()  # load balancers see /readyz turn 503 and stop sending new requests
    if config.shutdown_delay_seconds and not hurry.is_set():
        log.info("shutting down: /readyz answers 503; still serving for %g s so load balancers stop routing "
                 "here (a second SIGTERM skips the wait)", config.shutdown_delay_seconds)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(hurry.wait(), config.shutdown_delay_seconds)
        if hurry.is_set():
            log.info("second stop signal: skipping the rest of SHUTDOWN_DELAY_SECONDS")
    log.info("shutting down: no new connections; requests in flight have %.0f s to finish",
             config.shutdown_timeout_seconds)
    server.stop()
    await server.drain(config.shutdown_timeout_seconds)
    await stop_services(services)


def serve_processes(config: Config, count: int) -> int:
    """`serve --processes N`: a supervisor forking `count` workers of `serve`."""
    ensure_signing_key(config)
    _prepare_metrics(config)

    def worker_exited(pid: int) -> None:
        if config.metrics_enabled:
            mark_process_dead(pid, config.metrics_path)

    return _run_workers(config, count, on_worker_exit=worker_exited,
                        announce=lambda embedded_redis_used: _banner(config, embedded_redis_used, count))


def _prepare_metrics(config: Config) -> None:
    """Before any service (and any worker process) writes a sample: see services/metrics.py."""
    if config.metrics_enabled:
        prepare_metrics_dir(config.metrics_path)


def lower_thread_priority() -> None:
    """The executor's threads (bcrypt, image re-encoding) run at a lower CPU priority than the IOLoop thread.

    A login flood keeps every core busy with bcrypt; at equal priority GET /user then waits for a core behind
    it (p99 2.2-2.6 times the idle one, bench/compare.py). Idle cores still go to bcrypt. Linux: nice is per thread.
    """
    with contextlib.suppress(AttributeError, OSError):  # no setpriority here: equal priority, as before
        os.setpriority(os.PRIO_PROCESS, 0, os.getpriority(os.PRIO_PROCESS, 0) + 5)


def ensure_signing_key(config: Config) -> None:
    """First start of a development setup: an empty keys folder gets one key, said out loud."""
    folder = Path(config.jwt_keys)
    if config.jwt_keys_auto_generate and not any(keyfiles.scan(folder)):
        kid = keyfiles.generate(folder, config.jwt_algorithm)
        log.warning("keys folder %s was empty: generated %s key %s (set JWT_KEYS_AUTO_GENERATE=false in "
                    "production and manage keys with `python server.py keys`)", folder, config.jwt_algorithm, kid)


def _banner(config: Config, embedded_redis_used: bool, processes: int = 1) -> None:
    lines = [f"{config.app_name} {config.app_version} listening on http://{config.host}:{config.port}/"
             + (f" with {processes} processes" if processes > 1 else "")]
    if config.embedded_mongo:
        lines += ["",
                  "!! USERS ARE STORED IN MEMORY (embedded mongomock): they are lost when the server stops.",
                  "!! Set MONGO_URL=mongodb://host:27017/dbname to keep them in a real MongoDB."]
    if embedded_redis_used:
        lines += ["",
                  f"!! Redis is embedded: a redis-server child process with its data in {config.data_dir}/redis.",
                  "!! Set REDIS_URL=redis://host:6379/0 to share sessions and limits between servers."]
    if config.mail_backend == "console":
        lines += ["",
                  "!! MAIL_BACKEND=console: verification and reset mails are printed here, not sent.",
                  "!! Set MAIL_BACKEND=smtp or mailgun (see docs/email.md) to deliver them."]
    if config.log_format == "json":  # a log pipeline gets one parseable line, not a framed text block
        log.warning(lines[0], extra={"fields": {"notices": [line for line in lines[1:] if line]}})
        return
    width = max(len(line) for line in lines)
    print("\n".join(["=" * width, *lines, "=" * width]), file=sys.stderr, flush=True)
