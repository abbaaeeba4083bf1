"""Auto-pipelining in redis mode: reads that requests ask for together go out as one MGET, each request gets its
own values, a failure fails only the requests of that MGET, and nobody waits forever."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from jwt_auth_client.batching import MgetBatcher


class Store:
    """A stand-in for one Redis MGET: counts the calls, can fail the next one."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.fail_next = False

    async def mget(self, keys: list[str]) -> list[Any]:
        self.calls.append(keys)
        await asyncio.sleep(0.01)
        if self.fail_next:
            self.fail_next = False
            raise ConnectionError("Redis went away")
        return [f"value of {key}" if key != "missing" else None for key in keys]


def test_requests_of_one_turn_share_one_mget_and_get_their_own_values():
    store = Store()

    async def run() -> list[list[Any]]:
        batcher = MgetBatcher(store.mget)
        return await asyncio.gather(*(batcher.mget([f"user-{n}", "missing", "auth:keys"]) for n in range(20)))

    answers = asyncio.run(run())
    assert len(store.calls) == 1 and store.calls[0].count("auth:keys") == 1
    assert answers[7] == ["value of user-7", None, "value of auth:keys"]


def test_requests_that_come_while_an_mget_is_out_go_in_the_next_one():
    store = Store()

    async def run() -> None:
        batcher = MgetBatcher(store.mget)
        first = asyncio.ensure_future(batcher.mget(["a"]))
        await asyncio.sleep(0.005)  # the first MGET is out now
        await asyncio.gather(first, *(batcher.mget([f"b{n}"]) for n in range(5)))

    asyncio.run(run())
    assert [len(call) for call in store.calls] == [1, 5]


def test_a_failed_mget_fails_its_requests_only():
    store = Store()

    async def run() -> None:
        batcher = MgetBatcher(store.mget)
        store.fail_next = True
        failed = await asyncio.gather(*(batcher.mget([f"k{n}"]) for n in range(3)), return_exceptions=True)
        assert all(isinstance(result, ConnectionError) for result in failed)
        assert await batcher.mget(["after"]) == ["value of after"]

    asyncio.run(run())


def test_a_request_that_gives_up_does_not_hold_up_the_others():
    store = Store()

    async def run() -> None:
        batcher = MgetBatcher(store.mget)
        impatient = asyncio.ensure_future(batcher.mget(["x"]))
        patient = asyncio.ensure_future(batcher.mget(["y"]))
        await asyncio.sleep(0)
        impatient.cancel()
        assert await patient == ["value of y"]
        with pytest.raises(asyncio.CancelledError):
            await impatient

    asyncio.run(run())


def test_a_batch_stays_under_max_keys():
    store = Store()

    async def run() -> None:
        batcher = MgetBatcher(store.mget, max_keys=6)
        await asyncio.gather(*(batcher.mget([f"u{n}a", f"u{n}b", f"u{n}c"]) for n in range(5)))

    asyncio.run(run())
    assert [len(call) for call in store.calls] == [6, 6, 3]
