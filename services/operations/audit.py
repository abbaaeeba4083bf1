"""The audit trail: one JSON line per authentication event, on the `auth.audit` logger.

Lines carry who (user id, session id), from where (client IP) and what happened; never a password, a
token or an email address typed by a stranger. A failed login names the account by a keyed hash of what was
typed (HMAC-SHA256, RFC 2104), so lines about one account correlate while the log does not become a list of
guesses: an unsalted fast hash of a short string is a dictionary lookup away from the string, and people do
type their password into the email field.

The key is `AUDIT_HMAC_KEY` when it is set: the same value on every machine whose audit lines must correlate.
Left empty, one is made on first start into `DATA_DIR/audit-hmac.key` and read by every process that shares
that folder (the workers of `serve --processes`, later restarts); another machine with its own `DATA_DIR`
makes its own, and its lines then name the same account differently.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from services.config import ConfigError
from services.infra import create_once
from services.operations.request_ids import current_request_id

_log = logging.getLogger("auth.audit")
AUDIT_KEY_FILE = "audit-hmac.key"
_KEY_HEX_LENGTH = 64  # 32 random bytes, as hex


def audit_key(configured: str, data_dir: Path) -> bytes:
    """`AUDIT_HMAC_KEY`, or the key of `data_dir`, made there once (atomically: processes starting together
    agree on one). Start-up I/O: an unusable folder or file is a ConfigError naming it."""
    if configured:
        return configured.encode()
    path = data_dir / AUDIT_KEY_FILE
    try:
        if not path.exists():
            create_once(path, secrets.token_hex(_KEY_HEX_LENGTH // 2) + "\n")
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"setting DATA_DIR {data_dir}: cannot keep the audit key {AUDIT_KEY_FILE} there "
                          f"({exc}); set AUDIT_HMAC_KEY instead") from None
    if len(text) != _KEY_HEX_LENGTH or any(c not in "0123456789abcdef" for c in text):
        raise ConfigError(f"{path} is not an audit key ({_KEY_HEX_LENGTH} hex digits): restore it, or delete it "
                          "to make a new one (earlier audit lines then stop correlating with new ones)")
    return text.encode()


class AuditLog:
    def __init__(self, key: bytes, logger: logging.Logger = _log) -> None:
        self._key = key
        self._logger = logger
        self._listeners: list[Callable[[str, dict[str, Any]], None]] = []

    def subscribe(self, listener: Callable[[str, dict[str, Any]], None]) -> None:
        """Also hand every recorded event to `listener` (the webhooks: services/hooks/publisher.py), which must be
        quick and synchronous: it runs inside the request that recorded the event."""
        self._listeners.append(listener)

    def account_ref(self, identifier: str) -> str:
        """A stable pseudonym for what was typed as an address, to correlate lines without storing it."""
        return hmac.new(self._key, identifier.encode(), hashlib.sha256).hexdigest()[:16]

    def record(self, event: str, *, uid: str | None = None, sid: str | None = None, ip: str | None = None,
               **details: Any) -> None:
        entry = {"ts": round(time.time(), 3), "event": event, "uid": uid, "sid": sid, "ip": ip,
                 "request_id": current_request_id.get(), **details}
        fields = {k: v for k, v in entry.items() if v is not None}
        # Text logs keep the JSON text as the message; JSON logs (LOG_FORMAT=json) carry the fields as members.
        self._logger.info(json.dumps(fields, separators=(",", ":")), extra={"fields": fields, "json_message": event})
        for listener in self._listeners:
            try:
                listener(event, fields)
            except Exception:  # a listener's bug must never fail the request that was audited
                self._logger.exception("audit listener failed on %s", event)
