"""The account-deleted notice goes out through the outbox, like every other mail, to the gone account's address."""

from __future__ import annotations

from typing import Any

import pytest
from support.mail import SmtpServer, mail_settings

from services.mail import MailNotifier
from services.wiring import Services


@pytest.fixture
def settings(mailbox: SmtpServer) -> dict[str, Any]:
    return mail_settings(mailbox)


@pytest.mark.gen_test
async def test_the_deletion_notice_reaches_the_old_address(services: Services, mailbox: SmtpServer) -> None:
    await MailNotifier(services.mail.outbox).account_deleted("gone@quazi.co", "Omar <b>Quazi</b>")
    mail = await mailbox.mail("gone@quazi.co", "deleted")
    assert mail.subject == "Your Python JWT Auth account was deleted"
    assert "Hello Omar <b>Quazi</b>," in mail.text
    assert "gone@quazi.co" in mail.text
    assert "Omar &lt;b&gt;Quazi&lt;/b&gt;" in mail.html  # the name is escaped in the HTML part
