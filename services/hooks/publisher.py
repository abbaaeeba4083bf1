"""Publishing webhook events: the audit log's listener, which queues each event for every endpoint that wants it.

The listener runs inside `AuditLog.record`, which is synchronous and on the request's path, so it only appends
to this process's buffer and wakes the publisher's task; the task writes the events into the durable queue
(services/infra/ordered_outbox.py) one after another, in the order they were recorded, so a user's events keep
their order per endpoint. A receiver is never called from here: a slow or dead one cannot slow a request.

The buffer is drained within one Redis round trip of the event, and on stop (SIGTERM, the end of a command) before
the process ends. While Redis is unreachable the buffer holds up to `buffer_limit` events and retries; what a
process killed outright (SIGKILL) had not yet written in that time is lost: docs/hooks.md says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from typing import Any

from services.config import WebhookConfig
from services.hooks.events import WITH_USER, WebhookDelivery, WebhookEvent, event_from_audit, lane_of
from services.infra import OrderedOutbox
from services.operations import NO_OBSERVER, Observer
from services.users import UserStore

log = logging.getLogger("auth.webhooks")


class WebhookPublisher:
    def __init__(self, *, outbox: OrderedOutbox[WebhookDelivery], endpoints: tuple[WebhookConfig, ...],
                 users: UserStore, observer: Observer = NO_OBSERVER, buffer_limit: int = 10_000,
                 retry_seconds: float = 1.0) -> None:
        self._outbox = outbox
        self._endpoints = endpoints
        self._users = users
        self._observer = observer
        self._buffer: deque[WebhookEvent] = deque()
        self._buffer_limit = buffer_limit
        self._retry_seconds = retry_seconds
        self._wake = asyncio.Event()
        self._flushing = asyncio.Lock()  # one writer at a time: the task, or a command's flush
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def enabled(self) -> bool:
        return bool(self._endpoints)

    def on_audit(self, event: str, fields: dict[str, Any]) -> None:
        """AuditLog's listener: cheap and synchronous; never raises into the request."""
        webhook_event = event_from_audit(event, fields) if self._endpoints else None
        if webhook_event is None or not self._subscribers(webhook_event.type):
            return
        if len(self._buffer) >= self._buffer_limit:
            dropped = self._buffer.popleft()
            self._observer.webhook_event_dropped()
            log.error("webhook buffer full (Redis unreachable?): event %s (%s) dropped", dropped.id, dropped.type)
        self._buffer.append(webhook_event)
        self._wake.set()
        if self._task is None and not self._stopping:
            self._start_soon()

    def _start_soon(self) -> None:
        with contextlib.suppress(RuntimeError):  # no running loop: flush() writes the buffer
            self._task = asyncio.get_running_loop().create_task(self._run(), name="webhook-publisher")

    async def flush(self) -> None:
        """Write every buffered event to the queue now (commands, tests); raises when Redis is unreachable."""
        async with self._flushing:
            while self._buffer:
                await self._publish(self._buffer[0])
                self._buffer.popleft()

    async def stop(self, flush_seconds: float = 5.0) -> None:
        self._stopping = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        try:
            await asyncio.wait_for(self.flush(), flush_seconds)
        except Exception as exc:
            if self._buffer:
                log.error("%d webhook event(s) not queued at stop: %r", len(self._buffer), exc)

    async def _run(self) -> None:
        failing = False
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self.flush()
                if failing:
                    log.info("webhook queue reachable again")
                    failing = False
            except Exception as exc:  # Redis down: keep the events, try again shortly
                if not failing:
                    log.warning("webhook queue unreachable, %d event(s) kept to retry: %r", len(self._buffer), exc)
                    failing = True
                await asyncio.sleep(self._retry_seconds)
                self._wake.set()

    async def _publish(self, event: WebhookEvent) -> None:
        data = event.data
        if event.type in WITH_USER:
            user = await self._users.find_by_uid(event.uid)
            if user is not None:
                data = {**data, "user": user.admin_view()}
        for endpoint in self._subscribers(event.type):
            await self._outbox.enqueue(WebhookDelivery(lane=lane_of(endpoint.url, event.uid), url=endpoint.url,
                                                       event_id=event.id, type=event.type,
                                                       timestamp=event.timestamp, data=data))

    def _subscribers(self, event_type: str) -> list[WebhookConfig]:
        return [endpoint for endpoint in self._endpoints if "*" in endpoint.events or event_type in endpoint.events]
