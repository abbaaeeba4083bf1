"""Telling users about their account by mail, behind a narrow interface the lifecycle service depends on.

The notice goes through the outbox like every other mail: the request never waits on delivery, and a
mail-server outage only delays it. The message carries the address and name itself, since by the time
the worker sends it the account they belonged to is gone.
"""

from __future__ import annotations

from typing import Protocol

from services.infra import Outbox
from services.mail.messages import AccountDeleted, MailMessage


class AccountNotifier(Protocol):
    async def account_deleted(self, email: str, name: str) -> None:
        """Tell `email` that the account and its data are gone (sent after the deletion)."""


class MailNotifier:
    def __init__(self, outbox: Outbox[MailMessage]) -> None:
        self._outbox = outbox

    async def account_deleted(self, email: str, name: str) -> None:
        await self._outbox.enqueue(AccountDeleted(email=email, name=name))
