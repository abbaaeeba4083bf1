"""The mail domain's parts, built from the config and their clients (the root orders the builders)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.config import Config
from services.infra import Outbox
from services.mail import (
    MAIL_MESSAGES,
    MailComposer,
    Mailer,
    MailMessage,
    MailWorker,
    SignInCodeIssuer,
    build_mailer,
)
from services.users import UserStore
from services.wiring.tokens import Tokens


@dataclass(frozen=True)
class Mail:
    outbox: Outbox[MailMessage]
    worker: MailWorker


def build_mail(*, config: Config, redis: Any, users: UserStore, tokens: Tokens, mailer: Mailer | None,
               sign_in: SignInCodeIssuer | None = None) -> Mail:
    """`sign_in`: what makes the codes and links of sign-in mails (services/passwordless)."""
    outbox = Outbox(redis, codec=MAIL_MESSAGES, lease_seconds=config.mail_lease_seconds,
                    max_attempts=config.mail_max_attempts, retry_base_seconds=config.mail_retry_base_seconds,
                    retry_max_seconds=config.mail_retry_max_seconds)
    composer = MailComposer(config=config, users=users, links=tokens.links, sign_in=sign_in)
    worker = MailWorker(outbox=outbox, composer=composer, mailer=mailer or build_mailer(config),
                        send_timeout=config.mail_send_timeout_seconds)
    return Mail(outbox=outbox, worker=worker)
