"""The task that empties one outbox queue: claim due messages, deliver each, then complete or retry it.

Whatever the queue carries (mail, texts, webhook events), the loop is the same, so it is written once: the queue's
own worker (services/mail/worker.py, services/passwordless/texts.py, services/hooks/webhook_worker.py) is a
subclass that says only how one message is handed over (`hand_over`). One runs in every
server process (started by start_services); the outbox's claim makes sure two of them never deliver one message at
once, and a delivery is cut off at `send_timeout`, well inside the claim's lease, so a slow receiver cannot make
a message look abandoned while it is still being delivered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Generic, Literal

from services.infra.outbox import Claimed, M, Outbox

DeliveryOutcome = Literal["sent", "retry", "dead"]


class OutboxWorker(Generic[M]):
    def __init__(self, *, outbox: Outbox[M], what: str, log: logging.Logger, send_timeout: float,
                 permanent: tuple[type[Exception], ...] = (), poll_seconds: float = 1.0, batch: int = 10) -> None:
        """Raising one of `permanent` in `hand_over` sets the message aside at once, any other error retries it.
        `what` names the messages in the log lines ("mail", "sms"). `poll_seconds`: how soon messages queued by
        another process, or due for a retry, are seen."""
        self._outbox = outbox
        self._what = what
        self._log = log
        self._send_timeout = send_timeout
        self._permanent = permanent
        self._poll = poll_seconds
        self._batch = batch
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._failing = False

    async def hand_over(self, message: M | None) -> bool:
        """Hand one message over; whether anything was sent (False: nobody to send it to). None is a record this
        version cannot read. The subclass's one job."""
        raise NotImplementedError

    def observed(self, outcome: DeliveryOutcome) -> None:
        """How one attempt ended, for a subclass that counts them (metrics); nothing by default."""

    def start(self) -> None:
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name=f"{self._what}-worker")

    async def stop(self) -> None:
        """Let the deliveries under way finish (they are bounded by the send timeout), then end."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping.set()
        self._outbox.added.set()
        try:
            await asyncio.wait_for(task, timeout=self._send_timeout + 1)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def run_once(self) -> int:
        """Claim and deliver one batch of due messages; returns how many were claimed."""
        claimed = await self._outbox.claim(self._batch)
        # Together, not one after another: every message of the batch must be done within its lease.
        await asyncio.gather(*(self._deliver(message) for message in claimed))
        return len(claimed)

    async def _run(self) -> None:
        while not self._stopping.is_set():
            self._outbox.added.clear()
            try:
                claimed = await self.run_once()
                if self._failing:
                    self._log.info("%s outbox reachable again", self._what)
                    self._failing = False
            except Exception as exc:  # Redis down, most likely: say so once, keep trying
                if not self._failing:
                    self._log.warning("%s outbox unreachable, will retry: %r", self._what, exc)
                    self._failing = True
                claimed = 0
            if claimed == 0 and not self._stopping.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._outbox.added.wait(), timeout=self._poll)

    async def _deliver(self, claimed: Claimed[M]) -> None:
        kind, what = claimed.record.get("kind"), self._what
        try:
            async with asyncio.timeout(self._send_timeout):
                sent = await self.hand_over(claimed.message)
        except Exception as exc:  # any failure, ours or the receiver's: the outbox decides what next
            problem = "timed out" if isinstance(exc, TimeoutError) else f"{type(exc).__name__}: {exc}"
            try:
                delay = await self._outbox.fail(claimed, problem, permanent=isinstance(exc, self._permanent))
            except Exception:  # the outbox is gone too: the lease runs out and the message comes back
                self._log.warning("%s %s (%s) failed and could not be rescheduled: %s", what, claimed.id, kind,
                                  problem)
                return
            self.observed("dead" if delay is None else "retry")
            if delay is None:
                self._log.error("%s %s (%s) set aside in the dead letters after %d attempt(s): %s",
                                what, claimed.id, kind, claimed.attempt, problem)
            else:
                self._log.warning("%s %s (%s) attempt %d failed, retry in %.0f s: %s",
                                  what, claimed.id, kind, claimed.attempt, delay, problem)
            return
        self.observed("sent")
        self._log.info("%s %s (%s) %s", what, claimed.id, kind, "sent" if sent else "not needed: nobody to send it to")
        try:
            await self._outbox.complete(claimed)
        except Exception as exc:  # sent, but not marked so: it will be sent again once the lease runs out
            self._log.warning("%s %s (%s) sent but not completed, may be sent twice: %r", what, claimed.id, kind, exc)
