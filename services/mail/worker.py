"""The task that empties the outbox: claim due messages, compose and send each, then complete or retry it.

One runs in every server process (started by start_services). The outbox's claim makes sure two of
them never send one message at once; a send is cut off at `MAIL_SEND_TIMEOUT_SECONDS`, well inside the
claim's lease, so a slow mail server cannot make a message look abandoned while it is still being sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from services.infra import Claimed, Outbox
from services.mail.composer import MailComposer
from services.mail.mailers import Mailer, PermanentMailError
from services.mail.messages import MailMessage

log = logging.getLogger("auth.mail")


class MailWorker:
    def __init__(self, *, outbox: Outbox[MailMessage], composer: MailComposer, mailer: Mailer, send_timeout: float,
                 poll_seconds: float = 1.0, batch: int = 10) -> None:
        """`poll_seconds`: how soon messages queued by another process, or due for a retry, are seen."""
        self._outbox = outbox
        self._composer = composer
        self._mailer = mailer
        self._send_timeout = send_timeout
        self._poll = poll_seconds
        self._batch = batch
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._failing = False

    def start(self) -> None:
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name="mail-worker")

    async def stop(self) -> None:
        """Let the mails being sent finish (they are bounded by the send timeout), then end."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping.set()
        self._outbox.added.set()
        try:
            await asyncio.wait_for(task, timeout=self._send_timeout + 1)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def run_once(self) -> int:
        """Claim and deliver one batch of due messages; returns how many were claimed."""
        claimed = await self._outbox.claim(self._batch)
        # Together, not one after another: every message of the batch must be done within its lease.
        await asyncio.gather(*(self._deliver(message) for message in claimed))
        return len(claimed)

    async def _run(self) -> None:
        while not self._stopping.is_set():
            self._outbox.added.clear()
            try:
                claimed = await self.run_once()
                if self._failing:
                    log.info("mail outbox reachable again")
                    self._failing = False
            except Exception as exc:  # Redis down, most likely: say so once, keep trying
                if not self._failing:
                    log.warning("mail outbox unreachable, will retry: %r", exc)
                    self._failing = True
                claimed = 0
            if claimed == 0 and not self._stopping.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._outbox.added.wait(), timeout=self._poll)

    async def _deliver(self, claimed: Claimed[MailMessage]) -> None:
        kind = claimed.record.get("kind")
        try:
            async with asyncio.timeout(self._send_timeout):
                mail = await self._composer.compose(claimed.message)
                if mail is not None:
                    await self._mailer.send(mail)
        except Exception as exc:  # any failure, ours or the mail server's: the outbox decides what next
            problem = "timed out" if isinstance(exc, TimeoutError) else f"{type(exc).__name__}: {exc}"
            try:
                delay = await self._outbox.fail(claimed, problem, permanent=isinstance(exc, PermanentMailError))
            except Exception:  # the outbox is gone too: the lease runs out and the message comes back
                log.warning("mail %s (%s) failed and could not be rescheduled: %s", claimed.id, kind, problem)
                return
            if delay is None:
                log.error("mail %s (%s) set aside in the dead letters after %d attempt(s): %s",
                          claimed.id, kind, claimed.attempt, problem)
            else:
                log.warning("mail %s (%s) attempt %d failed, retry in %.0f s: %s",
                            claimed.id, kind, claimed.attempt, delay, problem)
            return
        log.info("mail %s (%s) %s", claimed.id, kind, "sent" if mail else "not needed: nobody to send it to")
        try:
            await self._outbox.complete(claimed)
        except Exception as exc:  # sent, but not marked so: it will be sent again once the lease runs out
            log.warning("mail %s (%s) sent but not completed, may be sent twice: %r", claimed.id, kind, exc)
