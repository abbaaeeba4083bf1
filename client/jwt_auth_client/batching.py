"""Auto-pipelining for redis mode under asyncio: the MGETs of requests that arrive together go out as one.

redis-py spends about 120 µs of CPU on each command it sends (measured: bench/README.md), more than the rest of
a resource endpoint's check. So the reads that requests ask for within one turn of the event loop are merged
into one MGET (each request's keys stay together, read in the same command, so atomically on a plain Redis),
sent when the previous one has come back; every request gets its own values. Each request still costs one
round trip, now shared. ioredis (`enableAutoPipelining`) and Lettuce do the same.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

Reader = Callable[[list[str]], Awaitable[Sequence[Any]]]


class MgetBatcher:
    def __init__(self, read: Reader, max_keys: int = 3000) -> None:
        """`read`: one MGET (or a cluster's mget_nonatomic) of a list of keys, answering values in that order."""
        self._read = read
        self._max_keys = max_keys
        self._waiting: list[tuple[list[str], asyncio.Future[list[Any]]]] = []
        self._sender: asyncio.Task[None] | None = None

    async def mget(self, keys: list[str]) -> list[Any]:
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[list[Any]] = loop.create_future()
        self._waiting.append((keys, answer))
        if self._sender is None or self._sender.done():
            self._sender = loop.create_task(self._send_all())
        return await answer

    async def _send_all(self) -> None:
        await asyncio.sleep(0)  # let every request of this turn of the loop add its keys first
        while self._waiting:
            batch = self._take()
            wanted = list(dict.fromkeys(key for keys, _ in batch for key in keys))  # `auth:keys` once
            try:
                values = await self._read(wanted)
            except Exception as exc:  # every request of the batch gets the same failure: 503 each
                for _, answer in batch:
                    if not answer.done():
                        answer.set_exception(exc)
                continue
            except BaseException:  # cancelled (the app stops): nobody may wait forever
                for _, answer in batch:
                    answer.cancel()
                raise
            found = dict(zip(wanted, values, strict=True))
            for keys, answer in batch:
                if not answer.done():  # a request that gave up (a timeout, its client gone) is skipped
                    answer.set_result([found[key] for key in keys])

    def _take(self) -> list[tuple[list[str], asyncio.Future[list[Any]]]]:
        batch, count = [], 0
        while self._waiting and (not batch or count + len(self._waiting[0][0]) <= self._max_keys):
            keys, answer = self._waiting.pop(0)
            batch.append((keys, answer))
            count += len(keys)
        return batch
