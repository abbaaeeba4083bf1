"""Keeps the embedded redis-server running: started again when it dies, given up on when it cannot be.

Without it, a redis-server killed by the OOM killer or a crash stayed dead: every request that needs Redis
answered 503 until someone restarted the whole server, while `/healthz` said ok (17 s of 100 % 503s, measured,
until the test ended). Now its death is noticed at once (a pidfd on Linux, else a poll), it is started again by
the same rule as the workers (runtime/restarts.py: at once after a good run, doubling waits after failed starts),
and the Redis clients reconnect by themselves. After `max_failed_starts` failed starts in a row (a corrupt
append-only file, a full disk) the keeper marks the server not alive, so `/healthz` answers 503 and an
orchestrator restarts it; it still tries every `backoff_max` seconds, and a start that then lasts `stable_after`
makes the server alive again.

Whoever owns the redis-server drives the keeper: the serving process alone (`keep_running`, on its event loop),
or the supervisor of `serve --processes N` (`tend`, from its signal loop, as one of its companions).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time

from runtime.restarts import RestartPolicy, Restarts
from services.infra import EmbeddedRedis
from services.operations import Liveness

log = logging.getLogger("auth.redis")

PART = "redis-server"
_START_TIMEOUT = 10.0
_POLL_SECONDS = 0.5  # without pidfds (not Linux): how often a death is looked for


class RedisKeeper:
    def __init__(self, redis: EmbeddedRedis, liveness: Liveness, policy: RestartPolicy | None = None) -> None:
        self.redis = redis
        self._liveness = liveness
        self._restarts = Restarts(policy or RestartPolicy())
        self._restart_at: float | None = None
        self._gave_up = False

    @property
    def url(self) -> str:
        return self.redis.url

    def start(self) -> None:
        """The first start, at server start-up: RuntimeError, with redis-server's reason, if it cannot."""
        self.redis.start(_START_TIMEOUT)
        self._restarts.started(time.monotonic())

    def stop(self) -> None:
        self._restart_at = None
        self.redis.stop()

    # --- from the supervisor's loop (blocking is fine there) -------------------------------------------

    def tend(self, now: float) -> None:
        self._notice_death(now)
        if self._restart_due(now):
            try:
                self.redis.start(_START_TIMEOUT)
            except (RuntimeError, OSError) as exc:  # OSError: no process could be made (out of descriptors)
                self._start_failed(time.monotonic(), exc)
            else:
                self._restarted(time.monotonic())
        self._notice_recovery(now)

    def next_wakeup(self) -> float | None:
        if self._restart_at is not None:
            return self._restart_at
        if self._gave_up and self.redis.running:
            return self._restarts.started_at + self._restarts.policy.stable_after
        return None

    # --- on the serving process's event loop (nothing may block it for long) -----------------------------

    async def keep_running(self) -> None:
        """Run until cancelled: wait for a death or the next due time, then do what is due."""
        while True:
            try:
                if not await self._keep_once():
                    return
            except Exception:  # the keeper must outlive any one surprise, or the next death goes unnoticed
                log.exception("keeping the redis-server running failed; looking again in 1 s")
                await asyncio.sleep(1.0)

    async def _keep_once(self) -> bool:
        """Wait for what comes next and deal with it; False once there is nothing left to keep."""
        due = self.next_wakeup()
        wait = None if due is None else max(0.0, due - time.monotonic())
        if self.redis.running:
            await self._death(wait)
        elif due is not None:
            await asyncio.sleep(wait or 0.0)
        elif self.redis.pid is None:
            return False  # stopped: nothing left to keep
        now = time.monotonic()
        self._notice_death(now)
        if self._restart_due(now):
            try:
                await self._start_without_blocking()
            except (RuntimeError, OSError) as exc:
                self._start_failed(time.monotonic(), exc)
            else:
                self._restarted(time.monotonic())
        self._notice_recovery(time.monotonic())
        return True

    async def _death(self, within: float | None) -> None:
        """Return when the process exits, or after `within` seconds (or one poll, where pidfds do not exist)."""
        try:
            descriptor = os.pidfd_open(self.redis.pid or 0)  # readable once the process has exited
        except (AttributeError, OSError):
            await asyncio.sleep(_POLL_SECONDS if within is None else min(_POLL_SECONDS, within))
            return
        loop = asyncio.get_running_loop()
        exited = loop.create_future()
        loop.add_reader(descriptor, lambda: exited.done() or exited.set_result(None))
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(exited, within)
        finally:
            loop.remove_reader(descriptor)
            os.close(descriptor)

    async def _start_without_blocking(self) -> None:
        """`EmbeddedRedis.start`, with the waits handed back to the event loop. The process is launched from the
        loop's own thread: its parent-death signal belongs to the thread that started it."""
        self.redis.launch()
        deadline = time.monotonic() + _START_TIMEOUT
        while not self.redis.ready():
            if time.monotonic() > deadline:
                self.redis.stop()
                raise RuntimeError("redis-server did not start in time")
            await asyncio.sleep(0.02)

    # --- the rule, whoever drives it ------------------------------------------------------------------

    def _notice_death(self, now: float) -> None:
        if self._restart_at is not None or self.redis.running or self.redis.pid is None:
            return
        code = self.redis.exit_code
        uptime = now - self._restarts.started_at
        self._schedule(now, self._restarts.ended(now), f"redis-server (pid {self.redis.pid}) died after "
                       f"{uptime:.1f} s ({_describe(code)})")

    def _start_failed(self, now: float, exc: Exception) -> None:
        self._restarts.started(now)  # started and gone at once: a failed start
        self._schedule(now, self._restarts.ended(now), f"redis-server did not start again: {exc}")

    def _schedule(self, now: float, delay: float | None, what: str) -> None:
        if delay is None:
            delay = self._restarts.policy.backoff_max
            if not self._gave_up:
                self._gave_up = True
                self._liveness.fail(PART, "gave-up")
                log.critical("%s; it failed %d starts in a row: /healthz now answers 503 so that the server is "
                             "restarted (trying again every %.0f s meanwhile); see %s", what,
                             self._restarts.failed_starts, delay, self.redis.folder / "redis.log")
        else:
            log.error("%s; starting it again in %.1f s", what, delay)
        self._restart_at = now + delay

    def _restart_due(self, now: float) -> bool:
        return self._restart_at is not None and self._restart_at <= now

    def _restarted(self, now: float) -> None:
        self._restart_at = None
        self._restarts.started(now)
        log.warning("redis-server started again (pid %s)", self.redis.pid)

    def _notice_recovery(self, now: float) -> None:
        if self._gave_up and self.redis.running and self._restarts.stable(now):
            self._gave_up = False
            self._restarts.failed_starts = 0
            self._liveness.recover()
            log.warning("redis-server has run %.0f s since its last start: /healthz answers 200 again",
                        self._restarts.policy.stable_after)


def _describe(code: int | None) -> str:
    if code is None:
        return "exit status unknown"
    return f"killed by signal {-code}" if code < 0 else f"exit code {code}"
