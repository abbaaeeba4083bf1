"""The task that delivers webhook events: claim the heads of due lanes, POST each signed, complete or retry it.

One runs in every server process (started by start_services), as the mail worker does; the outbox's claim keeps
two processes from delivering one message at once, and its lanes keep one user's events in order per endpoint
(services/infra/ordered_outbox.py). A delivery is cut off at WEBHOOK_TIMEOUT_SECONDS, well inside its lease.
A receiver that answers 2xx has the event; anything else is retried with exponential back-off, and after
WEBHOOK_MAX_ATTEMPTS set aside in the dead letters (`python server.py webhooks dead-letters`, `webhooks replay`).
A 410 Gone is the receiver saying it wants no more: dead letter at once (Standard Webhooks' advice).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from services.config import WebhookConfig
from services.hooks.events import WebhookDelivery
from services.hooks.signed_http import HookFailure, SignedPoster
from services.infra import Claimed, OrderedOutbox
from services.operations import NO_OBSERVER, Observer

log = logging.getLogger("auth.webhooks")


class WebhookWorker:
    def __init__(self, *, outbox: OrderedOutbox[WebhookDelivery], endpoints: tuple[WebhookConfig, ...],
                 poster: SignedPoster, timeout: float, observer: Observer = NO_OBSERVER, poll_seconds: float = 1.0,
                 batch: int = 20) -> None:
        self._outbox = outbox
        self._secrets = {endpoint.url: endpoint.secret for endpoint in endpoints}
        self._poster = poster
        self._timeout = timeout
        self._observer = observer
        self._poll = poll_seconds
        self._batch = batch
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    def start(self) -> None:
        if not self._secrets:
            return  # no endpoint configured: nothing is ever queued
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name="webhook-worker")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping.set()
        self._outbox.added.set()
        try:
            await asyncio.wait_for(task, timeout=self._timeout + 1)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def run_once(self) -> int:
        claimed = await self._outbox.claim(self._batch)
        await asyncio.gather(*(self._deliver(delivery) for delivery in claimed))
        return len(claimed)

    async def _run(self) -> None:
        failing = False
        while not self._stopping.is_set():
            self._outbox.added.clear()
            try:
                claimed = await self.run_once()
                failing = False
            except Exception as exc:  # Redis down, most likely: say so once, keep trying
                if not failing:
                    log.warning("webhook queue unreachable, will retry: %r", exc)
                    failing = True
                claimed = 0
            if claimed == 0 and not self._stopping.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._outbox.added.wait(), timeout=self._poll)

    async def _deliver(self, claimed: Claimed[WebhookDelivery]) -> None:
        delivery = claimed.message
        secret = self._secrets.get(delivery.url) if delivery is not None else None
        if delivery is None or secret is None:
            # An endpoint removed from WEBHOOKS since the event was queued (or a record this version cannot read).
            log.warning("webhook %s has no configured endpoint any more: set aside", claimed.id)
            await self._outbox.fail(claimed, "no such endpoint in WEBHOOKS", permanent=True)
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
