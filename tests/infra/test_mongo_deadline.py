"""A guarded store call ends within its client's `timeoutMS`, whatever PyMongo is waiting for.

PyMongo looks at its own deadline while it waits for a server only every 0.5 s: with MONGO_TIMEOUT_SECONDS=2, a
refused MongoDB answered 30 concurrent logins in 2.05-2.13 s on a quiet machine and in 3.07 s once in CI, past the
1.5x bound of issue 13 (tests/infra/test_mongo_outages.py). These pin the rule itself, with calls that would never
end on their own.
"""

from __future__ import annotations

import asyncio
import logging

import pytest
from pymongo import AsyncMongoClient
from support.mongo import refused_url

from services.infra import InMemoryMongo, MongoStore, is_mongo_down, mongo_guarded, mongo_guarded_bulk
from services.outcomes import UNAVAILABLE, ServiceUnavailable


class Waiting(MongoStore):
    """Calls that wait on `self.answer`, as a driver waits for a server that never comes."""

    def __init__(self, database: object) -> None:
        super().__init__(database)
        self.answer = asyncio.Event()

    @mongo_guarded
    async def read(self) -> str:
        await self.answer.wait()
        return "read"

    @mongo_guarded
    async def times_out_by_itself(self) -> None:
        raise TimeoutError("a timeout of the call's own, not the deadline's")

    @mongo_guarded_bulk
    async def backfill(self, seconds: float) -> str:
        await asyncio.sleep(seconds)
        return "done"


def on_mongodb(timeout_ms: int) -> Waiting:
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(refused_url(), timeoutMS=timeout_ms,
                                                                   connect=False)
    return Waiting(client.get_default_database("test"))


@pytest.mark.gen_test(timeout=10)
async def test_a_call_that_outlives_the_clients_timeout_is_unavailable(caplog: pytest.LogCaptureFixture) -> None:
    store = on_mongodb(timeout_ms=50)
    with caplog.at_level(logging.WARNING, logger="auth.mongo"), pytest.raises(ServiceUnavailable) as raised:
        await store.read()
    assert (raised.value.status, raised.value.code) == (503, UNAVAILABLE.code)
    assert is_mongo_down(raised.value.__cause__)  # the command line names MongoDB for it (commands/common.py)
    assert "MongoDB timed out: no answer within 0.05 s" in caplog.text


@pytest.mark.gen_test(timeout=10)
async def test_a_call_within_the_timeout_answers_and_leaves_the_task_uncancelled() -> None:
    store = on_mongodb(timeout_ms=5000)
    asyncio.get_running_loop().call_later(0.01, store.answer.set)
    assert await store.read() == "read"
    await asyncio.sleep(0.1)  # a deadline left armed would cancel this task here
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]


@pytest.mark.gen_test(timeout=10)
async def test_a_timeout_raised_inside_the_call_is_not_taken_for_an_outage() -> None:
    with pytest.raises(TimeoutError, match="of the call's own"):
        await on_mongodb(timeout_ms=5000).times_out_by_itself()


@pytest.mark.gen_test(timeout=10)
async def test_a_bulk_call_is_bounded_only_operation_by_operation() -> None:
    """A backfill of every user runs for as long as it needs: PyMongo bounds each of its operations."""
    assert await on_mongodb(timeout_ms=50).backfill(0.2) == "done"


@pytest.mark.gen_test(timeout=10)
async def test_the_in_memory_store_sets_no_deadline() -> None:
    store = Waiting(InMemoryMongo()["test"])
    asyncio.get_running_loop().call_later(0.2, store.answer.set)
    assert await store.read() == "read"
