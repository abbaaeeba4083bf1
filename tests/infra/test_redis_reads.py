"""The per-request MGETs batched on a connection of their own (services/infra/redis_reads.py, issue 14): each
caller gets its own keys' values, a loop turn's reads share one round trip, and the failure rules of every other
Redis call hold (a restarted Redis just works, a hung one fails within the timeout)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from services.infra import BatchedReads, ClientReads, EmbeddedRedis, redis_client, redis_guarded, state_reads
from services.outcomes import ServiceUnavailable


@pytest.mark.gen_test(timeout=30)
async def test_fifty_concurrent_reads_each_get_their_own_values_in_few_round_trips(
        redis_server: EmbeddedRedis, monkeypatch: pytest.MonkeyPatch) -> None:
    client = redis_client(redis_server.url, 1.0)
    await client.mset({f"reads:{n}": str(n) for n in range(50)})
    reads = BatchedReads(client, 1.0)
    trips: list[int] = []
    real = reads._round_trip

    async def counted(batch: Any) -> Any:
        trips.append(len(batch))
        return await real(batch)

    monkeypatch.setattr(reads, "_round_trip", counted)
    try:
        values = await asyncio.gather(*(reads.mget((f"reads:{n}", "reads:missing")) for n in range(50)))
        assert values == [[str(n), None] for n in range(50)]
        assert sum(trips) == 50 and len(trips) <= 2, trips  # one turn's reads, at most one more batch behind
    finally:
        await reads.close()
        await client.aclose()


@pytest.mark.gen_test(timeout=30)
async def test_a_restarted_redis_is_read_again_without_an_error(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path, persistent=False)
    server.start()
    client = redis_client(server.url, 1.0)
    reads = BatchedReads(client, 1.0)
    try:
        await client.set("reads:k", "1")
        assert await reads.mget(("reads:k",)) == ["1"]
        server.stop()
        with pytest.raises(ServiceUnavailable):  # down: a 503, never a 500
            await redis_guarded(reads.mget(("reads:k",)))
        server.start()
        assert await reads.mget(("reads:k",)) == [None]  # not persistent: the key went with it
    finally:
        await reads.close()
        await client.aclose()
        server.stop()


@pytest.mark.gen_test(timeout=30)
async def test_a_hung_redis_fails_every_read_of_the_batch_within_one_timeout() -> None:
    held: list[asyncio.StreamWriter] = []  # a listener that accepts and never answers: a hung Redis

    def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    hole = await asyncio.start_server(hold, "127.0.0.1", 0)
    client = redis_client(f"redis://127.0.0.1:{hole.sockets[0].getsockname()[1]}/0", 0.3)
    reads = BatchedReads(client, 0.3)
    try:
        started = time.monotonic()
        outcomes = await asyncio.gather(*(redis_guarded(reads.mget(("k",))) for _ in range(5)),
                                        return_exceptions=True)
        assert all(isinstance(outcome, ServiceUnavailable) for outcome in outcomes), outcomes
        assert time.monotonic() - started < 0.3 * 2.5  # one timeout for the batch, not one per read
    finally:
        await reads.close()
        await client.aclose()
        for writer in held:
            writer.close()
        hole.close()


def test_a_cluster_reads_through_its_client(redis_cluster: Any) -> None:
    cluster = redis_client(redis_cluster.url, 1.0)
    assert isinstance(state_reads(cluster, 1.0), ClientReads)
