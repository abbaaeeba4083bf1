"""`SMS_BACKEND: webhook`: texts as signed POSTs to the operator's own endpoint, checked by a receiver on loopback
with the `standardwebhooks` library, and retried through the outbox while the endpoint fails."""

from __future__ import annotations

from typing import Any

import pytest
from support.api import Api
from support.sms import WEBHOOK_SECRET, SmsReceiver

NUMBER = "+4915123456789"


@pytest.fixture
def settings(sms_webhook: SmsReceiver) -> dict[str, Any]:
    return {"sms_backend": "webhook", "sms_webhook_url": f"{sms_webhook.base_url}/sms",
            "sms_webhook_secret": WEBHOOK_SECRET, "sms_retry_base_seconds": 0.05}


@pytest.mark.gen_test
async def test_the_webhook_gets_signed_texts_and_is_retried_until_it_takes_them(api: Api,
                                                                               sms_webhook: SmsReceiver) -> None:
    sms_webhook.failures = 1
    assert (await api.post("/otp", {"phone": "+49 1512 3456789"})).status == 200
    text = await sms_webhook.text(NUMBER)
    assert text.sender == {"code": text.code, "purpose": "sign-in"}
    assert sms_webhook.refused == []  # every delivery carried a valid signature
    answer = await api.post("/otp/verify", {"phone": NUMBER, "code": text.code})
    assert answer.status == 200, answer.body


@pytest.mark.gen_test
async def test_the_console_backend_prints_the_text() -> None:
    import io

    from services.passwordless import ConsoleSms, Sms

    stream = io.StringIO()
    await ConsoleSms(stream).send(Sms(to=NUMBER, text="123456 is your code."))
    assert "SMS_BACKEND=console" in stream.getvalue() and NUMBER in stream.getvalue()
    assert "123456 is your code." in stream.getvalue()
