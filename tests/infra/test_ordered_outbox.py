"""The ordered outbox (services/infra/ordered_outbox.py) on a real Redis, and a Redis Cluster: within a lane one
message at a time, oldest first, through failures and retries; lanes never hold each other back; a dead letter
frees its lane and comes back at its end when replayed."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, ClassVar

import pytest

from services.infra import MessageCodec, OrderedOutbox

pytestmark = pytest.mark.redis_cluster_too


@dataclass(frozen=True)
class Step:
    kind: ClassVar[str] = "step"
    lane: str
    n: int
    event_id: str = ""


def make(redis: Any, attempts: int = 5) -> OrderedOutbox[Step]:
    return OrderedOutbox(redis, codec=MessageCodec([Step]), lease_seconds=30, max_attempts=attempts,
                         retry_base_seconds=0.02, retry_max_seconds=0.05, queue="ordered-test")


async def claim_all(outbox: OrderedOutbox[Step], within: float = 1.0) -> list[Any]:
    """Everything due within `within` seconds (retries come back after their back-off)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline:
        claimed = await outbox.claim(50)
        if claimed:
            return claimed
        await asyncio.sleep(0.01)
    return []


@pytest.mark.gen_test(timeout=30)
async def test_a_lane_hands_out_one_message_at_a_time_in_order_and_lanes_are_independent(redis: Any) -> None:
    outbox = make(redis)
    for n in range(3):
        await outbox.enqueue(Step(lane="a", n=n))
    await outbox.enqueue(Step(lane="b", n=0))
    assert await outbox.pending() == 4
    first = await outbox.claim(50)
    assert sorted((c.message.lane, c.message.n) for c in first) == [("a", 0), ("b", 0)]  # heads only
    a0 = next(c for c in first if c.message.lane == "a")
    assert await outbox.fail(a0, "receiver down") is not None  # a's head waits for its retry ...
    b0 = next(c for c in first if c.message.lane == "b")
    assert await outbox.complete(b0)  # ... and holds back no other lane
    again = await claim_all(outbox)
    assert [(c.message.lane, c.message.n, c.attempt) for c in again] == [("a", 0, 2)]  # the same head, retried
    order = []
    current = again[0]
    while current is not None:
        order.append(current.message.n)
        assert await outbox.complete(current)
        claimed = await outbox.claim(50)
        assert len(claimed) <= 1
        current = claimed[0] if claimed else None
    assert order == [0, 1, 2] and await outbox.pending() == 0


@pytest.mark.gen_test(timeout=30)
async def test_a_dead_letter_frees_its_lane_and_replays_at_its_end(redis: Any) -> None:
    outbox = make(redis, attempts=1)
    await outbox.enqueue(Step(lane="u", n=0, event_id="evt_zero"))
    await outbox.enqueue(Step(lane="u", n=1, event_id="evt_one"))
    head = (await outbox.claim(50))[0]
    assert await outbox.fail(head, "gone for good") is None
    assert await outbox.dead_count() == 1
    nxt = await outbox.claim(50)
    assert [c.message.n for c in nxt] == [1]
    assert (await outbox.replay("evt_zero"))["message"]["n"] == 0
    assert await outbox.dead_count() == 0 and await outbox.claim(50) == []  # behind n=1, still in flight
    assert await outbox.complete(nxt[0])
    assert [c.message.n for c in await outbox.claim(50)] == [0]
    assert await outbox.replay("evt_unknown") is None


@pytest.mark.gen_test(timeout=30)
async def test_a_stale_worker_cannot_complete_what_another_has_claimed_since(redis: Any) -> None:
    outbox = OrderedOutbox(redis, codec=MessageCodec([Step]), lease_seconds=0.05, max_attempts=5,
                           retry_base_seconds=0.02, retry_max_seconds=0.05, queue="ordered-test")
    await outbox.enqueue(Step(lane="x", n=0))
    await outbox.enqueue(Step(lane="x", n=1))
    stale = (await outbox.claim(50))[0]
    fresh = (await claim_all(outbox))[0]  # the lease ran out: claimed again
    assert fresh.message.n == 0 and fresh.attempt == 2
    assert not await outbox.complete(stale)  # fenced: the lane does not move on
    assert await outbox.claim(50) == []
    assert await outbox.complete(fresh)
    assert [c.message.n for c in await outbox.claim(50)] == [1]
