"""The audit trail: one JSON line per authentication event, on the `auth.audit` logger.

Lines carry who (user id, session id), from where (client IP) and what happened; never a password, a
token or an email address typed by a stranger (a failed login names the account by a hash, so the
log does not become a list of guesses).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from typing import Any

from services.operations.request_ids import current_request_id

_log = logging.getLogger("auth.audit")


def account_ref(email: str) -> str:
    """A stable pseudonym for an address, to correlate failed logins without storing what was typed."""
    return hashlib.sha256(email.encode()).hexdigest()[:16]


class AuditLog:
    def __init__(self, logger: logging.Logger = _log) -> None:
        self._logger = logger

    def record(self, event: str, *, uid: str | None = None, sid: str | None = None, ip: str | None = None,
               **details: Any) -> None:
        entry = {"ts": round(time.time(), 3), "event": event, "uid": uid, "sid": sid, "ip": ip,
                 "request_id": current_request_id.get(), **details}
        fields = {k: v for k, v in entry.items() if v is not None}
        # Text logs keep the JSON text as the message; JSON logs (LOG_FORMAT=json) carry the fields as members.
        self._logger.info(json.dumps(fields, separators=(",", ":")), extra={"fields": fields, "json_message": event})
