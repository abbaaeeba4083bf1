"""Log output: human-readable text lines (the default), or one JSON object per line for a log pipeline.

A record may carry `fields` (a dict, `extra={"fields": {...}}`): in JSON they become members of the line's
object, next to timestamp, level, logger and message; in text they are left out (the message says it all).
The access log and the audit log (services/audit.py) pass their details that way.

Every line the process writes passes `RedactingFilter` (services/operations/redaction.py) on its way out, whoever
logged it: a traceback is printed without locals and with its messages scrubbed, and no JWT, credential or
secret-named field's value survives in a message.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from services.operations.redaction import RedactingFilter

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    def __init__(self, with_pid: bool = False) -> None:
        super().__init__()
        self.with_pid = with_pid

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "timestamp": _iso_time(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": getattr(record, "json_message", None) or record.getMessage(),
        }
        if self.with_pid:
            line["pid"] = record.process
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update({key: value for key, value in fields.items() if key not in line})
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:  # RedactingFilter leaves the safe rendering here, and no live exception
            line["exception"] = record.exc_text
        return json.dumps(line, separators=(",", ":"), default=str)


def _iso_time(created: float) -> str:
    """UTC, millisecond precision, RFC 3339: what log pipelines parse without a format hint."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created)) + f".{int(created % 1 * 1000):03d}Z"


def configure_logging(level: str, log_format: str, with_pid: bool = False) -> None:
    """The root handler for the whole process (`LOG_LEVEL`, `LOG_FORMAT`); `with_pid` when several processes
    write to one stream, so each line says whose it is."""
    handler = logging.StreamHandler()
    text_format = TEXT_FORMAT.replace("%(asctime)s", "%(asctime)s [%(process)d]") if with_pid else TEXT_FORMAT
    handler.setFormatter(JsonFormatter(with_pid) if log_format == "json" else logging.Formatter(text_format))
    handler.addFilter(RedactingFilter(strict=False))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
