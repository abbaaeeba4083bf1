"""The mail outbox and its worker, on a real Redis: claims and leases, back-off, dead letters, fencing,
and two workers that share one queue without ever sending a message twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest
from support.processes import free_port

from services.infra import EmbeddedRedis, MessageCodec, Outbox, QueueKeys, redis_client
from services.mail import Mail, MailWorker, PermanentMailError

MAIL = QueueKeys.of("mail")


@dataclass(frozen=True)
class Note:
    """A message of the tests' own: the queue carries any typed message its codec knows."""

    kind: ClassVar[str] = "note"
    n: int
    to: str = "a@example.com"


NOTES = MessageCodec([Note])


def make_outbox(redis: Any, lease: float = 30, attempts: int = 3, base: float = 0.05,
                cap: float = 0.2) -> Outbox[Note]:
    return Outbox(redis, codec=NOTES, lease_seconds=lease, max_attempts=attempts, retry_base_seconds=base,
                  retry_max_seconds=cap)


class Composer:
    """Every message becomes a mail to the address it names."""

    async def compose(self, message: Note) -> Mail:
        return Mail(to=message.to, subject=f"message {message.n}", text="hello", html="<p>hello</p>")


class RecordingMailer:
    def __init__(self, failures: int = 0, delay: float = 0.0, permanent: bool = False) -> None:
        self.failures = failures
        self.delay = delay
        self.permanent = permanent
        self.tries = 0
        self.sent: list[str] = []

    async def send(self, mail: Mail) -> None:
        self.tries += 1
        await asyncio.sleep(self.delay)
        if self.tries <= self.failures:
            raise (PermanentMailError if self.permanent else ConnectionRefusedError)("mail server says no")
        self.sent.append(mail.subject)


async def until(condition: Any, within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


# --- the queue ----------------------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_a_claimed_message_is_nobody_elses_until_its_lease_ends(redis: Any) -> None:
    outbox = make_outbox(redis)
    message_id = await outbox.enqueue(Note(n=1))
    [claimed] = await outbox.claim()
    assert (claimed.id, claimed.attempt, claimed.message) == (message_id, 1, Note(n=1))
    assert await outbox.claim() == []
    assert await make_outbox(redis).claim() == []  # another process sees it leased too
    assert await outbox.pending() == 1


@pytest.mark.gen_test
async def test_a_completed_message_is_gone(redis: Any) -> None:
    outbox = make_outbox(redis)
    await outbox.enqueue(Note(n=1))
    [claimed] = await outbox.claim()
    assert await outbox.complete(claimed)
    assert await outbox.pending() == 0
    assert await redis.hlen(MAIL.messages) == 0 and await redis.hlen(MAIL.attempts) == 0


@pytest.mark.gen_test
async def test_a_failed_message_comes_back_after_its_back_off(redis: Any) -> None:
    outbox = make_outbox(redis, base=0.3, cap=1)
    await outbox.enqueue(Note(n=1))
    [first] = await outbox.claim()
    delay = await outbox.fail(first, "connection refused")
    assert delay is not None and 0.24 <= delay <= 0.3
    assert await outbox.claim() == []
    await asyncio.sleep(0.35)
    [second] = await outbox.claim()
    assert (second.id, second.attempt) == (first.id, 2)


def test_the_back_off_doubles_up_to_its_cap() -> None:
    outbox = make_outbox(redis=type("R", (), {"register_script": lambda self, s: None})(), base=30, cap=3600)
    for attempt, full in [(1, 30), (2, 60), (3, 120), (4, 240), (6, 960), (7, 1920), (8, 3600), (20, 3600)]:
        delays = [outbox.backoff(attempt) for _ in range(50)]
        assert all(0.8 * full <= delay <= full for delay in delays), (attempt, min(delays), max(delays))
        assert max(delays) - min(delays) > 0  # jittered, so failures that came together spread out


@pytest.mark.gen_test
async def test_a_message_that_keeps_failing_is_set_aside_in_the_dead_letters(redis: Any) -> None:
    outbox = make_outbox(redis, attempts=3, base=0.01, cap=0.01)
    message_id = await outbox.enqueue(Note(n=7))
    outcomes = []
    for _ in range(3):
        claimed = await _claim_soon(outbox)
        outcomes.append(await outbox.fail(claimed, f"attempt {claimed.attempt} refused"))
    assert outcomes[:2] != [None, None] and outcomes[2] is None
    assert await outbox.pending() == 0 and await outbox.claim() == []
    [dead] = await outbox.dead_letters()
    assert dead["id"] == message_id and dead["attempts"] == 3 and dead["error"] == "attempt 3 refused"
    assert dead["message"] == {"kind": "note", "n": 7, "to": "a@example.com"}


@pytest.mark.gen_test
async def test_a_permanent_failure_is_set_aside_at_once(redis: Any) -> None:
    outbox = make_outbox(redis, attempts=10)
    await outbox.enqueue(Note(n=1))
    [claimed] = await outbox.claim()
    assert await outbox.fail(claimed, "550 no such mailbox", permanent=True) is None
    assert [dead["attempts"] for dead in await outbox.dead_letters()] == [1]


@pytest.mark.gen_test
async def test_a_message_whose_worker_died_is_sent_again_after_the_lease(redis: Any) -> None:
    outbox = make_outbox(redis, lease=0.3)
    await outbox.enqueue(Note(n=1))
    [lost] = await outbox.claim()  # ... and the process dies before completing it
    assert await outbox.claim() == []
    await asyncio.sleep(0.35)
    [again] = await make_outbox(redis, lease=0.3).claim()
    assert (again.id, again.attempt) == (lost.id, 2)
    # The first worker waking up late can neither complete nor reschedule what the second now holds.
    assert not await outbox.complete(lost)
    await outbox.fail(lost, "late")
    assert await outbox.claim() == []
    assert await outbox.complete(again)
    assert await outbox.pending() == 0


@pytest.mark.gen_test(timeout=20)
async def test_the_outbox_survives_a_redis_restart(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "redis", port=free_port(), persistent=True)
    server.start()
    client = redis_client(server.url, 1.0)
    try:
        message_id = await make_outbox(client).enqueue(Note(n=1))
        server.stop()
        server.start()
        [claimed] = await make_outbox(client).claim()
        assert claimed.id == message_id
    finally:
        await client.aclose()
        server.stop()


async def _claim_soon(outbox: Outbox) -> Any:
    for _ in range(200):
        claimed = await outbox.claim()
        if claimed:
            return claimed[0]
        await asyncio.sleep(0.01)
    raise AssertionError("nothing became due")


# --- the worker ---------------------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_the_worker_retries_until_the_mail_is_sent(redis: Any) -> None:
    outbox = make_outbox(redis, attempts=5, base=0.02, cap=0.05)
    mailer = RecordingMailer(failures=2)
    worker = MailWorker(outbox=outbox, composer=Composer(), mailer=mailer,  # type: ignore[arg-type]
                        send_timeout=2, poll_seconds=0.02)
    worker.start()
    try:
        await outbox.enqueue(Note(n=1))
        await until(lambda: mailer.sent)
    finally:
        await worker.stop()
    assert (mailer.tries, mailer.sent) == (3, ["message 1"])
    assert await outbox.pending() == 0 and await outbox.dead_letters() == []


@pytest.mark.gen_test
async def test_the_worker_logs_a_mail_it_sets_aside(redis: Any, caplog: pytest.LogCaptureFixture) -> None:
    outbox = make_outbox(redis, attempts=10)
    worker = MailWorker(outbox=outbox, composer=Composer(),  # type: ignore[arg-type]
                        mailer=RecordingMailer(failures=1, permanent=True), send_timeout=2, poll_seconds=0.02)
    worker.start()
    try:
        with caplog.at_level(logging.WARNING, logger="auth.mail"):
            message_id = await outbox.enqueue(Note(n=1))
            await until(lambda: any(r.levelno == logging.ERROR for r in caplog.records))
    finally:
        await worker.stop()
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert message_id in record.getMessage() and "dead letters" in record.getMessage()
    assert len(await outbox.dead_letters()) == 1


@pytest.mark.gen_test
async def test_a_send_that_hangs_is_cut_off_and_retried(redis: Any) -> None:
    outbox = make_outbox(redis, attempts=2, base=0.01, cap=0.01)
    mailer = RecordingMailer(delay=1.0)
    worker = MailWorker(outbox=outbox, composer=Composer(), mailer=mailer,  # type: ignore[arg-type]
                        send_timeout=0.1, poll_seconds=0.02)
    worker.start()
    try:
        await outbox.enqueue(Note(n=1))
        [dead] = await _wait_for_dead(outbox)
    finally:
        await worker.stop()
    assert dead["error"] == "timed out" and dead["attempts"] == 2
    assert mailer.tries == 2 and mailer.sent == []


async def _wait_for_dead(outbox: Outbox) -> list[dict[str, Any]]:
    for _ in range(300):
        dead = await outbox.dead_letters()
        if dead:
            return dead
        await asyncio.sleep(0.01)
    raise AssertionError("nothing reached the dead letters")


@pytest.mark.gen_test(timeout=30)
async def test_two_workers_on_one_queue_never_send_a_message_twice(redis_server: EmbeddedRedis, redis: Any) -> None:
    clients = [redis_client(redis_server.url, 1.0) for _ in range(2)]
    mailers = [RecordingMailer(delay=0.005), RecordingMailer(delay=0.005)]
    workers = [MailWorker(outbox=make_outbox(client), composer=Composer(), mailer=mailer,  # type: ignore[arg-type]
                          send_timeout=2, poll_seconds=0.01, batch=3)
               for client, mailer in zip(clients, mailers, strict=True)]
    for worker in workers:
        worker.start()
    try:
        producer = make_outbox(redis)
        for n in range(60):
            await producer.enqueue(Note(n=n))
        await until(lambda: sum(len(m.sent) for m in mailers) >= 60, within=20)
        await asyncio.sleep(0.1)  # room for a double send to show up
    finally:
        for worker in workers:
            await worker.stop()
        for client in clients:
            await client.aclose()
    sent = mailers[0].sent + mailers[1].sent
    assert sorted(sent) == sorted(f"message {n}" for n in range(60))
    assert all(mailer.sent for mailer in mailers), "both workers should have taken part"
    assert await redis.zcard(MAIL.queue) == 0
