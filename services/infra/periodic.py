"""A background job run every few seconds on the event loop (key reload, picture sweep) that survives its own errors."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger("auth.periodic")


class PeriodicTask:
    def __init__(self, name: str, job: Callable[[], Awaitable[Any]]) -> None:
        self._name = name
        self._job = job
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def start(self, interval: float) -> None:
        """First run after one interval: start-up does no extra I/O."""
        self._stopping = False
        self._task = asyncio.get_running_loop().create_task(self._loop(interval))

    async def stop(self) -> None:
        if self._task is not None:
            # Also a flag: a job's client may turn the cancellation into an error of its own (redis-py's cluster
            # client under a socket timeout does), which the loop below survives; the flag still ends it.
            self._stopping = True
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _loop(self, interval: float) -> None:
        while not self._stopping:
            await asyncio.sleep(interval)
            try:
                await self._job()
            except Exception:  # the job must outlive any one failure; the next round tries again
                if self._stopping:
                    return  # the cancellation, disguised by the job's client: not a failure worth a traceback
                log.exception("%s failed; retrying in %s s", self._name, interval)
