"""The per-request Redis read, batched: the MGETs of one event-loop turn travel to Redis as one pipeline.

Every authenticated request reads its state with one MGET (services/sessions/store.py). Through redis-py's client
each command pays for the pool's lock and bookkeeping, an `asyncio.wait_for` task around the write, a retry
wrapper and observability hooks: ≈ 70 µs of CPU per MGET with hiredis, 110 without; batched, 11 (bench/README.md,
"Redis calls"). `BatchedReads` instead keeps one connection of its own (made by redis-py, so URL, credentials,
TLS, database and protocol are the client's) and sends every MGET queued while the loop was busy in one write,
reading the replies in order.
Each request still costs Redis one MGET and one round trip (its batch's); under load a batch carries many.

The same failure rules as every other Redis call: the whole batch has REDIS_TIMEOUT_SECONDS, a hung Redis fails
each request in it (503 via `redis_guarded`), and only a broken connection is tried once more (a restarted
Redis closed it; MGET only reads, so repeating it is harmless). A Redis Cluster routes by key slot, which this
connection cannot: `state_reads` gives a cluster client's own `mget` instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from typing import Any, Protocol

from redis.asyncio.cluster import RedisCluster
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

Values = list[Any]


class StateReads(Protocol):
    """Where the per-request MGET goes."""

    def mget(self, keys: Sequence[str]) -> Awaitable[Values]: ...

    async def close(self) -> None: ...


def state_reads(redis: Any, timeout: float) -> StateReads:
    """Batched reads on a connection of their own for one Redis server; a cluster client's own `mget` otherwise."""
    if isinstance(redis, RedisCluster):
        return ClientReads(redis)
    return BatchedReads(redis, timeout)


class ClientReads:
    """Each MGET through the client (a cluster's: it knows which node holds the keys' slot)."""

    def __init__(self, redis: Any) -> None:
        self._redis = redis

    def mget(self, keys: Sequence[str]) -> Awaitable[Values]:
        return self._redis.mget(keys)  # type: ignore[no-any-return]

    async def close(self) -> None:
        """The client is closed with the others (stop_services)."""


class BatchedReads:
    def __init__(self, redis: Any, timeout: float) -> None:
        pool = redis.connection_pool
        # No socket timeout of its own (redis-py would wrap every write in a wait_for task): the batch has one
        # deadline. No health check PING: a dead connection fails the batch's write or read, and is made again.
        options = {**pool.connection_kwargs, "socket_timeout": None, "health_check_interval": 0}
        self._connection = pool.connection_class(**options)
        self._timeout = timeout
        self._queue: list[tuple[Sequence[str], asyncio.Future[Values]]] = []
        self._sender: asyncio.Task[None] | None = None

    def mget(self, keys: Sequence[str]) -> Awaitable[Values]:
        """The values of `keys` (None for a missing key), from the next batch."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Values] = loop.create_future()
        self._queue.append((keys, future))
        if self._sender is None:  # it starts on the loop's next turn: this turn's other requests join the batch
            self._sender = loop.create_task(self._send_queued())
        return future

    async def close(self) -> None:
        await self._connection.disconnect()

    async def _send_queued(self) -> None:
        try:
            while self._queue:
                batch, self._queue = self._queue, []
                await self._send(batch)
        finally:
            self._sender = None

    async def _send(self, batch: list[tuple[Sequence[str], asyncio.Future[Values]]]) -> None:
        try:
            async with asyncio.timeout(self._timeout):
                replies = await self._round_trip([keys for keys, _ in batch])
        except BaseException as exc:
            error = RedisTimeoutError("Timeout reading the batch") if isinstance(exc, TimeoutError) else exc
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
            if not isinstance(exc, Exception):
                raise  # cancelled: the server is stopping
            return
        for (_, future), reply in zip(batch, replies, strict=True):
            if not future.done():  # a request may have been cancelled meanwhile
                future.set_result(reply)

    async def _round_trip(self, reads: list[Sequence[str]]) -> list[Values]:
        connection = self._connection
        packed = connection.pack_commands([("MGET", *keys) for keys in reads])
        for attempt in (1, 2):
            try:
                if not connection.is_connected:
                    await connection.connect()
                await connection.send_packed_command(packed, check_health=False)
                return [await connection.read_response() for _ in reads]
            except RedisConnectionError:
                await connection.disconnect(nowait=True)
                if attempt == 2:
                    raise
            except BaseException:  # a timeout or a cancellation mid-reply: the connection's state is unknown
                await connection.disconnect(nowait=True)
                raise
        raise AssertionError("unreachable")
