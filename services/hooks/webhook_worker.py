"""The task that delivers webhook events: claim the heads of due lanes, POST each signed, complete or retry it.

The loop is the outbox's own (services/infra/outbox_worker.py), as the mail worker's is; the outbox's claim keeps
two processes from delivering one message at once, and its lanes keep one user's events in order per endpoint
(services/infra/ordered_outbox.py). A delivery is cut off at WEBHOOK_TIMEOUT_SECONDS, well inside its lease.
A receiver that answers 2xx has the event; anything else is retried with exponential back-off, and after
WEBHOOK_MAX_ATTEMPTS set aside in the dead letters (`python server.py webhooks dead-letters`, `webhooks replay`).
A 410 Gone is the receiver saying it wants no more: dead letter at once (Standard Webhooks' advice).
"""

from __future__ import annotations

import logging

from services.config import WebhookConfig
from services.hooks.events import WebhookDelivery
from services.hooks.signed_http import HookFailure, SignedPoster
from services.infra import Claimed, OrderedOutbox, OutboxWorker
from services.operations import NO_OBSERVER, Observer

log = logging.getLogger("auth.webhooks")


class WebhookWorker(OutboxWorker[WebhookDelivery]):
    def __init__(self, *, outbox: OrderedOutbox[WebhookDelivery], endpoints: tuple[WebhookConfig, ...],
                 poster: SignedPoster, timeout: float, observer: Observer = NO_OBSERVER, poll_seconds: float = 1.0,
                 batch: int = 20) -> None:
        super().__init__(outbox=outbox, name="webhook", timeout=timeout, log=log, poll_seconds=poll_seconds,
                         batch=batch)
        self._secrets = {endpoint.url: endpoint.secret for endpoint in endpoints}
        self._poster = poster
        self._observer = observer

    def start(self) -> None:
        if self._secrets:  # without an endpoint nothing is ever queued
            super().start()

    async def deliver(self, claimed: Claimed[WebhookDelivery]) -> None:
        delivery = claimed.message
        secret = self._secrets.get(delivery.url) if delivery is not None else None
        if delivery is None or secret is None:
            # An endpoint removed from WEBHOOKS since the event was queued (or a record this version cannot read).
            log.warning("webhook %s has no configured endpoint any more: set aside", claimed.id)
            try:
                await self._outbox.fail(claimed, "no such endpoint in WEBHOOKS", permanent=True)
            except Exception as exc:  # the queue is gone too: the lease runs out and it comes back
                log.warning("webhook %s could not be set aside: %r", claimed.id, exc)
                return
            self._observer.webhook_delivered("dead")
            return
        payload = {"type": delivery.type, "timestamp": delivery.timestamp, "data": delivery.data}
        try:
            await self._poster.post(delivery.url, secret, delivery.event_id, payload, self._timeout)
        except HookFailure as exc:
            await self._failed(claimed, delivery, exc)
            return
        self._observer.webhook_delivered("delivered")
        try:
            await self._outbox.complete(claimed)
        except Exception as exc:  # delivered, not marked so: delivered again once the lease ends (same id)
            log.warning("webhook %s delivered but not completed, may be delivered twice: %r", delivery.event_id, exc)

    async def _failed(self, claimed: Claimed[WebhookDelivery], delivery: WebhookDelivery, exc: HookFailure) -> None:
        try:
            delay = await self._outbox.fail(claimed, str(exc), permanent=exc.status == 410)
        except Exception:  # the queue is gone too: the lease runs out and the delivery comes back
            log.warning("webhook %s (%s) failed and could not be rescheduled: %s", delivery.event_id, delivery.type,
                        exc)
            return
        if delay is None:
            self._observer.webhook_delivered("dead")
            log.error("webhook %s (%s) set aside in the dead letters after %d attempt(s): %s", delivery.event_id,
                      delivery.type, claimed.attempt, exc)
        else:
            self._observer.webhook_delivered("retry")
            log.warning("webhook %s (%s) attempt %d failed, retry in %.0f s: %s", delivery.event_id, delivery.type,
                        claimed.attempt, delay, exc)
