"""PeriodicTask.stop ends the loop even when the job turns its cancellation into an error of its own."""

from __future__ import annotations

import asyncio
import logging

import pytest

from services.infra import PeriodicTask


@pytest.mark.gen_test
async def test_stop_ends_a_job_that_swallows_its_cancellation(caplog: pytest.LogCaptureFixture) -> None:
    """redis-py's cluster client under a socket timeout answers a cancel with its own error: stop must still end."""
    running = asyncio.Event()
    rounds = 0

    async def disguising_job() -> None:
        nonlocal rounds
        rounds += 1
        running.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            raise ConnectionError("Timeout reading from socket") from None

    task = PeriodicTask("disguising", disguising_job)
    task.start(0.001)
    await asyncio.wait_for(running.wait(), 5)
    with caplog.at_level(logging.ERROR, logger="auth.periodic"):
        stopping = asyncio.ensure_future(task.stop())
        done, _ = await asyncio.wait({stopping}, timeout=5)  # wait, not wait_for: a stuck stop fails, not hangs
    assert stopping in done, "stop() never ended the loop"
    assert rounds == 1
    assert not caplog.records  # a stop is not a failure


@pytest.mark.gen_test
async def test_a_failing_job_is_retried_next_round() -> None:
    calls = 0
    twice = asyncio.Event()

    async def failing_job() -> None:
        nonlocal calls
        calls += 1
        if calls >= 2:
            twice.set()
        raise RuntimeError("boom")

    task = PeriodicTask("failing", failing_job)
    task.start(0.001)
    await asyncio.wait_for(twice.wait(), 5)
    await task.stop()
