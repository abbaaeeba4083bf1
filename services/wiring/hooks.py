"""The hooks domain's parts: the auth hooks (built before the users, whose sign-up gate they are) and the
webhooks (built after them: events carry the user)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.config import Config
from services.hooks import (
    WEBHOOK_MESSAGES,
    AuthHooks,
    HookMailer,
    HookSmsSender,
    SignedPoster,
    WebhookDelivery,
    WebhookPublisher,
    WebhookWorker,
)
from services.infra import OrderedOutbox
from services.operations import AuditLog, Observer
from services.users import UserStore

WEBHOOK_QUEUE = "webhooks"


@dataclass(frozen=True)
class Hooks:
    poster: SignedPoster
    auth: AuthHooks
    mailer: HookMailer | None  # the send_email hook, in place of MAIL_BACKEND
    sms: HookSmsSender | None  # the send_sms hook: the SMS outbox of issue 16 sends through it


@dataclass(frozen=True)
class Webhooks:
    outbox: OrderedOutbox[WebhookDelivery]
    publisher: WebhookPublisher
    worker: WebhookWorker


def build_hooks(*, config: Config) -> Hooks:
    poster = SignedPoster()
    send_email, send_sms = config.hook("send_email"), config.hook("send_sms")
    return Hooks(poster=poster,
                 auth=AuthHooks(poster=poster, before_signup=config.hook("before_signup"),
                                custom_access_token=config.hook("custom_access_token")),
                 mailer=HookMailer(hook=send_email, poster=poster) if send_email else None,
                 sms=HookSmsSender(hook=send_sms, poster=poster) if send_sms else None)


def build_webhooks(*, config: Config, redis: Any, users: UserStore, audit: AuditLog, observer: Observer,
                   hooks: Hooks) -> Webhooks:
    outbox: OrderedOutbox[WebhookDelivery] = OrderedOutbox(
        redis, codec=WEBHOOK_MESSAGES, lease_seconds=config.webhook_lease_seconds,
        max_attempts=config.webhook_max_attempts, retry_base_seconds=config.webhook_retry_base_seconds,
        retry_max_seconds=config.webhook_retry_max_seconds, queue=WEBHOOK_QUEUE)
    publisher = WebhookPublisher(outbox=outbox, endpoints=config.webhooks, users=users, observer=observer)
    if publisher.enabled:
        audit.subscribe(publisher.on_audit)
    worker = WebhookWorker(outbox=outbox, endpoints=config.webhooks, poster=hooks.poster,
                           timeout=config.webhook_timeout_seconds, observer=observer)
    return Webhooks(outbox=outbox, publisher=publisher, worker=worker)
