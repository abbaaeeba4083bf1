"""The loop every outbox has a worker for: claim due messages, deliver each (the worker's own `deliver`), again.

One runs per queue in every server process (started by start_services): the mail worker (services/mail/) and
the webhook worker (services/hooks/). The outbox's claim makes sure two processes never deliver one message at
once; a delivery is cut off by the worker's own timeout, well inside the claim's lease, so a slow receiver cannot
make a message look abandoned while it is still being delivered. Messages queued by this process are seen at
once (the outbox's `added` event), those of other processes and retries that fall due at the next poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Generic, TypeVar

from services.infra.outbox import Claimed, Message, Outbox

M = TypeVar("M", bound=Message)


class OutboxWorker(Generic[M]):
    """`name` names the task and the log lines; `timeout` bounds one delivery (stop waits that long, and 1 s)."""

    def __init__(self, *, outbox: Outbox[M], name: str, timeout: float, log: logging.Logger,
                 poll_seconds: float = 1.0, batch: int = 10) -> None:
        self._outbox = outbox
        self._name = name
        self._timeout = timeout
        self._log = log
        self._poll = poll_seconds
        self._batch = batch
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._failing = False

    async def deliver(self, claimed: Claimed[M]) -> None:
        """Deliver one claimed message and complete or fail it; never raises."""
        raise NotImplementedError

    def start(self) -> None:
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name=f"{self._name}-worker")

    async def stop(self) -> None:
        """Let the deliveries under way finish (they are bounded by the timeout), then end."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping.set()
        self._outbox.added.set()
        try:
            await asyncio.wait_for(task, timeout=self._timeout + 1)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def run_once(self) -> int:
        """Claim and deliver one batch of due messages; returns how many were claimed."""
        claimed = await self._outbox.claim(self._batch)
        # Together, not one after another: every message of the batch must be done within its lease.
        await asyncio.gather(*(self.deliver(message) for message in claimed))
        return len(claimed)

    async def _run(self) -> None:
        while not self._stopping.is_set():
            self._outbox.added.clear()
            try:
                claimed = await self.run_once()
                if self._failing:
                    self._log.info("%s outbox reachable again", self._name)
                    self._failing = False
            except Exception as exc:  # Redis down, most likely: say so once, keep trying
                if not self._failing:
                    self._log.warning("%s outbox unreachable, will retry: %r", self._name, exc)
                    self._failing = True
                claimed = 0
            if claimed == 0 and not self._stopping.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._outbox.added.wait(), timeout=self._poll)
