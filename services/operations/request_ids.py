"""Request ids: one per HTTP request, on its answer (`X-Request-ID`), its access log line and its audit lines.

A proxy's or client's own id is kept when it is safe to put into logs and headers, so one id follows a request
through every hop; anything else is replaced. The id travels in a context variable, which the handler sets
inside the request's task: services read it without knowing about HTTP.
"""

from __future__ import annotations

import os
import re
from contextvars import ContextVar

HEADER = "X-Request-ID"
_SAFE = re.compile(r"[A-Za-z0-9._-]{1,128}")

current_request_id: ContextVar[str | None] = ContextVar("current_request_id", default=None)


def request_id_from(incoming: str | None) -> str:
    """The incoming id when it is short and plain (no spaces, quotes or line breaks to forge log lines with),
    else a new random one."""
    if incoming and _SAFE.fullmatch(incoming):
        return incoming
    return os.urandom(16).hex()
