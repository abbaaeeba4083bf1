"""The mail outbox's worker: each claimed message is composed (services/mail/composer.py) and handed to the mailer.

The claim, the send timeout, the retries and the log lines are the outbox's own loop (services/infra/outbox_worker.py);
a mail server that refused the recipient for good (`PermanentMailError`) sets the message aside at once.
"""

from __future__ import annotations

import logging

from services.infra import Outbox, OutboxWorker
from services.mail.composer import MailComposer
from services.mail.mailers import Mailer, PermanentMailError
from services.mail.messages import MailMessage

log = logging.getLogger("auth.mail")


class MailWorker(OutboxWorker[MailMessage]):
    def __init__(self, *, outbox: Outbox[MailMessage], composer: MailComposer, mailer: Mailer, send_timeout: float,
                 poll_seconds: float = 1.0, batch: int = 10) -> None:
        """`poll_seconds`: how soon messages queued by another process, or due for a retry, are seen."""
        super().__init__(outbox=outbox, what="mail", log=log, send_timeout=send_timeout,
                         permanent=(PermanentMailError,), poll_seconds=poll_seconds, batch=batch)
        self._composer = composer
        self._mailer = mailer

    async def hand_over(self, message: MailMessage | None) -> bool:
        mail = await self._composer.compose(message)
        if mail is None:
            return False
        await self._mailer.send(mail)
        return True
