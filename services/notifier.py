"""Telling users about their account by mail: a narrow interface, so the mailer can be plugged in later.

Mail delivery is built separately; until it is wired here, `LoggingNotifier` stands in and writes a log
line instead (naming the account by a hash: the address of a deleted account should not linger in logs).
"""

from __future__ import annotations

import logging
from typing import Protocol

from services.audit import account_ref

log = logging.getLogger("auth.notifier")


class AccountNotifier(Protocol):
    async def account_deleted(self, email: str, name: str) -> None:
        """Tell `email` that the account and its data are gone (sent after the deletion)."""


class LoggingNotifier:
    """The default until a mailer is configured: nothing is sent, a log line says what would have been."""

    async def account_deleted(self, email: str, name: str) -> None:
        log.info("no mailer configured: account-deleted notice not sent (account %s)", account_ref(email))
