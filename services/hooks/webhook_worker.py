"""The task that delivers webhook events: claim the heads of due lanes, POST each signed, complete or retry it.

The loop is the outbox's own (services/infra/outbox_worker.py), as the mail and SMS workers' are; the outbox's
claim keeps two processes from delivering one message at once, and its lanes keep one user's events in order per
endpoint (services/infra/ordered_outbox.py). A delivery is cut off at WEBHOOK_TIMEOUT_SECONDS, well inside its
lease. A receiver that answers 2xx has the event; anything else is retried with exponential back-off, and after
WEBHOOK_MAX_ATTEMPTS set aside in the dead letters (`python server.py webhooks dead-letters`, `webhooks replay`).
A 410 Gone is the receiver saying it wants no more: dead letter at once (Standard Webhooks' advice).
"""

from __future__ import annotations

import logging

from services.config import WebhookConfig
from services.hooks.events import WebhookDelivery
from services.hooks.signed_http import HookFailure, SignedPoster
from services.infra import DeliveryOutcome, OrderedOutbox, OutboxWorker
from services.operations import NO_OBSERVER, Observer

log = logging.getLogger("auth.webhooks")


class UndeliverableWebhook(Exception):
    """Retrying cannot help: the receiver answered 410 Gone, or its endpoint is no longer in WEBHOOKS."""


class WebhookWorker(OutboxWorker[WebhookDelivery]):
    def __init__(self, *, outbox: OrderedOutbox[WebhookDelivery], endpoints: tuple[WebhookConfig, ...],
                 poster: SignedPoster, timeout: float, observer: Observer = NO_OBSERVER, poll_seconds: float = 1.0,
                 batch: int = 20) -> None:
        super().__init__(outbox=outbox, what="webhook", log=log, send_timeout=timeout,
                         permanent=(UndeliverableWebhook,), poll_seconds=poll_seconds, batch=batch)
        self._secrets = {endpoint.url: endpoint.secret for endpoint in endpoints}
        self._poster = poster
        self._observer = observer

    def start(self) -> None:
        if self._secrets:  # without an endpoint nothing is ever queued
            super().start()

    async def hand_over(self, delivery: WebhookDelivery | None) -> bool:
        secret = self._secrets.get(delivery.url) if delivery is not None else None
        if delivery is None or secret is None:
            # An endpoint removed from WEBHOOKS since the event was queued (or a record this version cannot read).
            raise UndeliverableWebhook("no such endpoint in WEBHOOKS")
        payload = {"type": delivery.type, "timestamp": delivery.timestamp, "data": delivery.data}
        try:
            await self._poster.post(delivery.url, secret, delivery.event_id, payload, self._send_timeout)
        except HookFailure as exc:
            if exc.status == 410:
                raise UndeliverableWebhook(str(exc)) from None
            raise
        return True

    def observed(self, outcome: DeliveryOutcome) -> None:
        self._observer.webhook_delivered("delivered" if outcome == "sent" else outcome)
