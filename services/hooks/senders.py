"""The `send_email` and `send_sms` hooks: the backend's own service delivers what the server would have sent.

They stand in for the mailer (services/mail/mailers.py) or the SMS backend and are called from the same outbox
workers, so a hook that fails or is slow is retried with the outbox's back-off, and set aside in its dead letters
after the last attempt, exactly like an SMTP server that is down. Delivery is at least once, as with SMTP: a mail
the hook took whose completion Redis did not record is sent again (its links are made anew at each attempt, so
the two differ). A 4xx answer but 408 and 429 (the receiver refuses this message for good) goes to the dead
letters at once.
"""

from __future__ import annotations

import uuid

from services.config import HookConfig
from services.hooks.auth_hooks import hook_payload
from services.hooks.signed_http import HookFailure, SignedPoster
from services.mail import Mail, PermanentMailError
from services.passwordless import PermanentSmsError, Sms


class HookMailer:
    """A `Mailer` that POSTs each rendered mail (to, subject, text, html) to the `send_email` hook."""

    def __init__(self, *, hook: HookConfig, poster: SignedPoster) -> None:
        self._hook = hook
        self._poster = poster

    async def send(self, mail: Mail) -> None:
        data = {"to": mail.to, "subject": mail.subject, "text": mail.text, "html": mail.html}
        await _deliver(self._poster, self._hook, "send_email", data, PermanentMailError)


class HookSmsSender:
    """The `send_sms` hook as an SMS backend (an `SmsSender` of services/passwordless/sms.py): the SMS outbox of
    one-time codes sends through it when the hook is configured, in place of SMS_BACKEND."""

    def __init__(self, *, hook: HookConfig, poster: SignedPoster) -> None:
        self._hook = hook
        self._poster = poster

    async def send(self, sms: Sms) -> None:
        data = {"to": sms.to, "body": sms.text, "code": sms.code, "purpose": sms.purpose}
        await _deliver(self._poster, self._hook, "send_sms", data, PermanentSmsError)


async def _deliver(poster: SignedPoster, hook: HookConfig, hook_type: str, data: dict[str, str],
                   permanent: type[Exception]) -> None:
    try:
        await poster.post(hook.url, hook.secret, f"msg_{uuid.uuid4().hex}", hook_payload(hook_type, data),
                          hook.timeout_seconds)
    except HookFailure as exc:
        if exc.status is not None and 400 <= exc.status < 500 and exc.status not in (408, 429):
            raise permanent(f"{hook_type} hook {exc}") from None
        raise
