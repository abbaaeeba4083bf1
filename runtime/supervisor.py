"""A pre-fork supervisor: N worker processes that share only what the parent set up before forking.

The parent forks before any event loop or client thread exists (forking a process with threads or a
running loop copies their state half-way), then only waits for signals: it restarts a worker that dies,
with a growing delay, gives up loudly when workers keep dying at start, and on SIGTERM or SIGINT passes
SIGTERM on to every worker and waits for them (a second stop signal is passed on too). Workers get SIGTERM
from the kernel if the parent dies without that (Linux parent-death signal), so no worker outlives it.

Companions are other children the parent keeps beside the workers (the embedded redis-server): each is looked
after (`tend`) whenever the parent wakes up, and says when it next needs to be (`next_wakeup`). The parent reaps
its workers by pid, never with `waitpid(-1)`, so a companion's exit status stays for its own `Popen` to read.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from runtime.restarts import RestartPolicy, Restarts

log = logging.getLogger("auth.supervisor")

_PR_SET_PDEATHSIG = 1
# A worker exiting with this code found the configuration unusable (server.py's exit code for that): every
# other worker would too, so restarting is pointless and the parent exits with it as well.
CONFIGURATION_ERROR = 2
_STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}
_WATCHED = {*_STOP_SIGNALS, signal.SIGCHLD}


class Companion(Protocol):
    """A child process the supervisor keeps running beside its workers."""

    def tend(self, now: float) -> None:
        """Notice an exit, start it again when due: called on every wake-up of the parent."""

    def next_wakeup(self) -> float | None:
        """The monotonic time it next needs `tend`, or None until something happens to it."""


@dataclass
class _Slot:
    """One worker position: the process that fills it now and how its recent starts went."""

    index: int
    restarts: Restarts
    pid: int | None = None
    restart_at: float | None = None


class Supervisor:
    """`run()` forks `count` workers, each calling `work(index)` and exiting with its return value."""

    def __init__(self, count: int, work: Callable[[int], int], *,
                 on_worker_exit: Callable[[int], None] = lambda pid: None,
                 on_stopping: Callable[[], None] = lambda: None, companions: Sequence[Companion] = (),
                 stop_timeout: float = 30.0, stable_after: float = 10.0, max_failed_starts: int = 5,
                 backoff_base: float = 0.5, backoff_max: float = 30.0) -> None:
        """`on_worker_exit(pid)` runs in the parent for every worker that ends, for whatever reason;
        `on_stopping()` runs once the parent decides to stop (e.g. to close its copy of the listening sockets).
        A worker that dies within `stable_after` seconds of its start counts as a failed start."""
        policy = RestartPolicy(stable_after=stable_after, max_failed_starts=max_failed_starts,
                               backoff_base=backoff_base, backoff_max=backoff_max)
        self._slots = [_Slot(index, Restarts(policy)) for index in range(count)]
        self._work = work
        self._on_worker_exit = on_worker_exit
        self._on_stopping = on_stopping
        self._companions = companions
        self._stop_timeout = stop_timeout

    def run(self) -> int:
        """Serve until SIGTERM/SIGINT (0 once every worker has stopped cleanly) or until workers crash-loop (1)."""
        # Signals wait in the queue until sigtimedwait takes them: no handler runs between two system calls.
        signal.pthread_sigmask(signal.SIG_BLOCK, _WATCHED)
        try:
            for slot in self._slots:
                self._spawn(slot)
            return self._supervise()
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _WATCHED)

    @property
    def pids(self) -> list[int]:
        return [slot.pid for slot in self._slots if slot.pid is not None]

    # --- the parent's loop ---------------------------------------------------------------------------

    def _supervise(self) -> int:
        while True:
            received = signal.sigtimedwait(_WATCHED, self._next_wakeup())
            if received is not None and received.si_signo in _STOP_SIGNALS:
                log.info("%s: stopping %d worker(s)", signal.Signals(received.si_signo).name, len(self.pids))
                return self._stop(clean=True)
            for slot, status in self._reap():
                if os.waitstatus_to_exitcode(status) == CONFIGURATION_ERROR:
                    log.critical("worker %d stopped on a configuration error (see above): stopping", slot.index)
                    self._stop(clean=False)
                    return CONFIGURATION_ERROR
                if not self._worker_ended(slot, status):
                    return self._stop(clean=False)
            now = time.monotonic()
            for slot in self._slots:
                if slot.pid is None and slot.restart_at is not None and slot.restart_at <= now:
                    self._spawn(slot)
            for companion in self._companions:
                companion.tend(time.monotonic())

    def _next_wakeup(self) -> float:
        pending = [slot.restart_at for slot in self._slots if slot.pid is None and slot.restart_at is not None]
        pending += [due for due in (companion.next_wakeup() for companion in self._companions) if due is not None]
        return max(0.0, min(pending) - time.monotonic()) if pending else 3600.0

    def _reap(self) -> list[tuple[_Slot, int]]:
        ended = []
        for slot in self._slots:
            if slot.pid is None:
                continue
            try:
                pid, status = os.waitpid(slot.pid, os.WNOHANG)
            except ChildProcessError:  # reaped already: nothing more to learn about it
                pid, status = slot.pid, 0
            if pid == 0:
                continue
            self._on_worker_exit(pid)
            slot.pid = None
            ended.append((slot, status))
        return ended

    def _worker_ended(self, slot: _Slot, status: int) -> bool:
        """Schedule the restart of a worker that died on its own; False when workers keep failing at start."""
        now = time.monotonic()
        uptime = now - slot.restarts.started_at
        delay = slot.restarts.ended(now)
        if delay is None:
            policy = slot.restarts.policy
            log.critical("worker %d died %d times in a row within %.0f s of its start (last: %s): giving up; "
                         "the worker's own log lines above say why", slot.index, slot.restarts.failed_starts,
                         policy.stable_after, _describe(status))
            return False
        log.error("worker %d %s after %.1f s; starting another in %.1f s", slot.index, _describe(status), uptime,
                  delay)
        slot.restart_at = time.monotonic() + delay
        return True

    def _stop(self, clean: bool) -> int:
        self._on_stopping()
        for pid in self.pids:
            _signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + self._stop_timeout
        failures = 0
        while self.pids:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                log.error("worker(s) %s still running %.0f s after SIGTERM: killing them", self.pids,
                          self._stop_timeout)
                for pid in self.pids:
                    _signal(pid, signal.SIGKILL)
                deadline = time.monotonic() + 5.0
                failures += 1
                continue
            received = signal.sigtimedwait(_WATCHED, min(remaining, 0.5))
            if received is not None and received.si_signo in _STOP_SIGNALS:
                # A second stop signal: the workers get a second SIGTERM, which cuts their shutdown delay short.
                log.info("%s again: passing SIGTERM on to %s", signal.Signals(received.si_signo).name, self.pids)
                for pid in self.pids:
                    _signal(pid, signal.SIGTERM)
            failures += sum(1 for _, status in self._reap() if os.waitstatus_to_exitcode(status) != 0)
        return 0 if clean and not failures else 1

    # --- the child ----------------------------------------------------------------------------------

    def _spawn(self, slot: _Slot) -> None:
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:
            os._exit(self._child(slot.index, parent))
        slot.pid, slot.restart_at = pid, None
        slot.restarts.started(time.monotonic())
        log.info("worker %d started: pid %d", slot.index, pid)

    def _child(self, index: int, parent: int) -> int:
        """Never returns into the parent's code: whatever happens, the worker process ends here."""
        try:
            for signum in _STOP_SIGNALS:
                signal.signal(signum, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _WATCHED)
            _die_with_parent()
            if os.getppid() != parent:  # the parent died before the line above took effect
                return 1
            return self._work(index)
        except SystemExit as exc:
            return exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            log.exception("worker %d failed", index)
            return 1
        finally:
            logging.shutdown()
            sys.stdout.flush()
            sys.stderr.flush()


def _die_with_parent() -> None:
    if sys.platform.startswith("linux"):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _signal(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)


def _describe(status: int) -> str:
    code = os.waitstatus_to_exitcode(status)
    return f"was killed by {signal.Signals(-code).name}" if code < 0 else f"exited with code {code}"
