"""The access log: one line per request, with every query value but the harmless ones redacted, and the request
metrics."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import tornado.web

from handlers.base import BaseHandler
from services.operations import redact_url

if TYPE_CHECKING:
    from handlers.application import AuthApplication

access_log = logging.getLogger("auth.access")


def log_request(handler: tornado.web.RequestHandler) -> None:
    """Tornado's `log_function`: count the request, then write its line (only when that level is on)."""
    status = handler.get_status()
    request = handler.request
    seconds = request.request_time()
    route = type(handler).__name__  # the handler, never the raw path: label values stay few
    application: AuthApplication = handler.application  # type: ignore[assignment]
    application.services.operations.observer.request_finished(route, request.method or "", status, seconds)
    level = logging.INFO if status < 400 else logging.WARNING if status < 500 else logging.ERROR
    if access_log.isEnabledFor(level):
        # Tokens travel in query strings (`/refresh?token=...`, the provider's `code` and our `state` on
        # `/callback`, a page's `?token=`), under any spelling a client likes (`?%74oken=`): values are redacted by
        # an allow-list (services/operations/redaction.py), never by a list of the names we thought of.
        uri = redact_url(request.uri or "")
        request_id = getattr(handler, "request_id", None)
        client = handler.client.ip if isinstance(handler, BaseHandler) else request.remote_ip
        fields = {"request_id": request_id, "method": request.method, "route": route, "path": uri,
                  "status": status, "duration_ms": round(1000.0 * seconds, 2), "client_ip": client}
        # The text line ends with the request id too: it ties the line to the answer's header and audit lines.
        access_log.log(level, "%d %s %s (%s) %.2fms %s", status, request.method, uri, client, 1000.0 * seconds,
                       request_id or "-", extra={"fields": fields})
