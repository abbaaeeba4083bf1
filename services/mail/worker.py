"""The task that empties the mail outbox: compose and send each claimed message, then complete or retry it.

The loop (claims, leases, polling) is the outbox's own (services/infra/outbox_worker.py); a send is cut off at
`MAIL_SEND_TIMEOUT_SECONDS`, well inside the claim's lease, so a slow mail server cannot make a message look
abandoned while it is still being sent.
"""

from __future__ import annotations

import asyncio
import logging

from services.infra import Claimed, Outbox, OutboxWorker
from services.mail.composer import MailComposer
from services.mail.mailers import Mailer, PermanentMailError
from services.mail.messages import MailMessage

log = logging.getLogger("auth.mail")


class MailWorker(OutboxWorker[MailMessage]):
    def __init__(self, *, outbox: Outbox[MailMessage], composer: MailComposer, mailer: Mailer, send_timeout: float,
                 poll_seconds: float = 1.0, batch: int = 10) -> None:
        """`poll_seconds`: how soon messages queued by another process, or due for a retry, are seen."""
        super().__init__(outbox=outbox, name="mail", timeout=send_timeout, log=log, poll_seconds=poll_seconds,
                         batch=batch)
        self._composer = composer
        self._mailer = mailer

    async def deliver(self, claimed: Claimed[MailMessage]) -> None:
        kind = claimed.record.get("kind")
        try:
            async with asyncio.timeout(self._timeout):
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
