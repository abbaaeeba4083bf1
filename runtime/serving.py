"""How the server runs: `serve` is one serving process; `serve_processes` binds the port once and forks N of them.

Both first prepare, once, what every serving process shares (runtime/startup.py): the DATA_DIR lock, the
listening sockets (every worker accepts on the same port and the kernel hands each connection to one of them),
the embedded Redis when no REDIS_URL is set and its keeper, the signing key of a first start and the metrics
folder. Everything else (the event loop, the Redis and MongoDB clients, the key ring and its watcher, the thread
pools) each serving process builds for itself, after the fork: none of it survives a fork intact. A MongoDB that
does not answer at start is no reason not to start (services/infra/index_build.py): `/readyz` says so until it
does.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import sys
from collections.abc import Coroutine
from typing import Any
from urllib.parse import urlsplit

from pymongo.errors import ConfigurationError as MongoConfigurationError

from handlers.application import make_app
from runtime.errors import CannotStart
from runtime.http_server import DrainingHTTPServer
from runtime.startup import Prepared, prepared
from runtime.supervisor import CONFIGURATION_ERROR, Supervisor
from services.config import Config, ConfigError
from services.infra import IndexBuildFailed, mongo_database, redis_client
from services.operations import mark_process_dead
from services.wiring import Services, build_executors, build_services, start_services, stop_services

log = logging.getLogger("auth.server")

# After SIGTERM a worker keeps serving SHUTDOWN_DELAY_SECONDS, may take SHUTDOWN_TIMEOUT_SECONDS for its
# requests, then stops its services within this much more, or the supervisor kills it.
_STOP_GRACE_SECONDS = 10.0
# What start-up can find wrong that only the operator can fix: one log line, exit code 2.
_START_UP_FAULTS = (CannotStart, ConfigError, IndexBuildFailed)


def run_loop(config: Config, main: Coroutine[Any, Any, int]) -> int:
    """`asyncio.run` on the event loop EVENT_LOOP names. uvloop does the loop's own work (polling, transports,
    callbacks) in C: bench/README.md has what it saves per request."""
    if config.event_loop == "uvloop":
        import uvloop  # here, not above: with EVENT_LOOP=asyncio the server runs where uvloop is not installed

        return uvloop.run(main)
    return asyncio.run(main)


def worker_stop_deadline(config: Config) -> float:
    """How long the supervisor waits for a worker after passing SIGTERM on, before it kills it."""
    return config.shutdown_delay_seconds + config.shutdown_timeout_seconds + _STOP_GRACE_SECONDS


def serve_process(config: Config) -> int:
    """`serve` with PROCESSES=1: this process serves, and keeps the embedded Redis running itself."""
    try:
        with prepared(config) as ready:
            return run_loop(config, serve(config, ready))
    except _START_UP_FAULTS as exc:
        log.critical("cannot start: %s", exc)
        return CONFIGURATION_ERROR


def serve_processes(config: Config, count: int) -> int:
    """`serve --processes N`: a supervisor forking `count` workers of `serve`, and keeping the embedded Redis."""
    try:
        with prepared(config) as ready:
            return _run_workers(config, count, ready)
    except _START_UP_FAULTS as exc:
        log.critical("cannot start: %s", exc)
        return CONFIGURATION_ERROR


def _run_workers(config: Config, count: int, ready: Prepared) -> int:
    """Serve with `count` forked workers until SIGTERM/SIGINT; the process's exit code.

    No event loop may run in this process before the fork: each worker starts its own in `serve`.
    """

    def work(index: int) -> int:
        return run_loop(config, serve(config, ready, worker=True))

    def worker_exited(pid: int) -> None:
        if config.metrics_enabled:
            mark_process_dead(pid, config.metrics_path)

    def stop_listening() -> None:
        # The workers close their copies on SIGTERM; with ours closed too, the kernel refuses new connections.
        for listening in ready.sockets:
            listening.close()

    supervisor = Supervisor(count, work, on_worker_exit=worker_exited, on_stopping=stop_listening,
                            companions=[ready.redis] if ready.redis is not None else [],
                            stop_timeout=worker_stop_deadline(config))
    _banner(config, ready.redis is not None, count, ready.port)
    # Objects made so far are shared copy-on-write with every worker: keep the collector off them.
    gc.collect()
    gc.freeze()
    return supervisor.run()


async def serve(config: Config, ready: Prepared, worker: bool = False) -> int:
    """One serving process: alone, or a `worker` of `serve --processes N`, whose supervisor prints the banner
    and keeps the embedded Redis running."""
    executors = build_executors(config)
    stopping = _StopSignals()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.received)
    keeping: asyncio.Task[None] | None = None
    try:
        redis = redis_client(ready.redis.url if ready.redis else config.redis_url, config.redis_timeout_seconds)
        services = build_services(config, _database(config), redis, executors, liveness=ready.liveness)
        await start_services(services, on_fatal=stopping.failed)
        if ready.redis is not None and not worker:
            keeping = loop.create_task(ready.redis.keep_running())
        if services.tokens.keyring.signing_key is None:
            log.error("no signing key in %s: run `python server.py keys generate`", config.jwt_keys)
        # The handlers enforce MAX_CONTENT_LENGTH themselves, with a JSON 413; Tornado's own cap would just hang up.
        server = DrainingHTTPServer(make_app(services), xheaders=False, max_body_size=1 << 40,
                                    in_flight=services.operations.observer.requests_in_flight,
                                    header_timeout=config.http_header_timeout_seconds,
                                    idle_timeout=config.http_idle_timeout_seconds,
                                    body_timeout=config.http_body_timeout_seconds)
        server.add_sockets(ready.sockets)
        # What start-up built lives as long as the process: move it out of the collector's way, or every full
        # collection walks those objects while every request in flight waits (GET /user p99, see bench/README.md).
        gc.collect()
        gc.freeze()
        if not worker:
            _banner(config, ready.redis is not None, port=ready.port)
        await stopping.first.wait()
        await _shut_down(config, server, services, stopping.second)
        if stopping.failure is not None:  # found after the start: indexes made once MongoDB came back
            return CONFIGURATION_ERROR
    except _START_UP_FAULTS as exc:
        if not worker:
            raise  # the caller says it, once the embedded Redis is stopped
        log.critical("cannot start: %s", exc)
        return CONFIGURATION_ERROR
    finally:
        if keeping is not None:
            keeping.cancel()
            await asyncio.gather(keeping, return_exceptions=True)
        executors.shutdown()
    return 0


def _database(config: Config) -> Any:
    """The MongoDB client; a MONGO_URL the driver cannot use stops the start (the config checks the form only)."""
    try:
        return mongo_database(config)
    except (MongoConfigurationError, ValueError) as exc:
        raise CannotStart(f"setting MONGO_URL: {exc}") from None


class _StopSignals:
    """SIGTERM or SIGINT: the first starts the shutdown, a second one cuts SHUTDOWN_DELAY_SECONDS short. A failure
    the operator must settle, found while serving (MongoDB's indexes, once it answers), stops the server too."""

    def __init__(self) -> None:
        self.first = asyncio.Event()
        self.second = asyncio.Event()
        self.failure: IndexBuildFailed | None = None

    def received(self) -> None:
        (self.second if self.first.is_set() else self.first).set()

    def failed(self, failure: IndexBuildFailed) -> None:
        self.failure = failure
        self.first.set()
        self.second.set()  # no SHUTDOWN_DELAY_SECONDS: nothing this process serves can be right


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


def _banner(config: Config, embedded_redis_used: bool, processes: int = 1, port: int | None = None) -> None:
    lines = [f"{config.app_name} {config.app_version} listening on http://{config.host}:{port or config.port}/"
             + (f" with {processes} processes" if processes > 1 else "")]
    if config.embedded_mongo:
        lines += ["",
                  "!! USERS ARE STORED IN MEMORY (embedded mongomock): they are lost when the server stops.",
                  "!! Set MONGO_URL=mongodb://host:27017/dbname to keep them in a real MongoDB."]
    if embedded_redis_used:
        lines += ["",
                  f"!! Redis is embedded: a redis-server child process with its data in {config.data_dir}/redis.",
                  "!! Set REDIS_URL=redis://host:6379/0 to share sessions and limits between servers."]
    if urlsplit(config.app_url).hostname in ("localhost", "127.0.0.1", "::1"):
        lines += ["",
                  f"!! APP_URL: links in mails start with {config.app_url}, which only this machine can open.",
                  "!! Set APP_URL=https://auth.example.com/ to the address users reach."]
    if config.mail_backend == "console":
        lines += ["",
                  "!! MAIL_BACKEND=console: verification and reset mails are printed here, not sent.",
                  "!! Set MAIL_BACKEND=smtp or mailgun (see docs/email.md) to deliver them."]
    if config.log_format == "json":  # a log pipeline gets one parseable line, not a framed text block
        log.warning(lines[0], extra={"fields": {"notices": [line for line in lines[1:] if line]}})
        return
    width = max(len(line) for line in lines)
    print("\n".join(["=" * width, *lines, "=" * width]), file=sys.stderr, flush=True)
