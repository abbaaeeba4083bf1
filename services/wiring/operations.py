"""The operations domain's parts, built from the config and their clients (the root orders the builders)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.config import Config
from services.operations import AuditLog, MetricsExposition, Observer, Readiness
from services.wiring.mail import Mail
from services.wiring.tokens import Tokens


@dataclass(frozen=True)
class Operations:
    audit: AuditLog
    observer: Observer
    readiness: Readiness
    exposition: MetricsExposition | None  # None when METRICS_ENABLED is off


def build_operations(*, config: Config, redis: Any, database: Any, tokens: Tokens, mail: Mail, audit: AuditLog,
                     observer: Observer) -> Operations:
    timeout = config.readiness_timeout_seconds
    exposition = (MetricsExposition(config.metrics_path, tokens.keyring, mail.outbox, timeout)
                  if config.metrics_enabled else None)
    return Operations(audit=audit, observer=observer, readiness=Readiness(redis, database, tokens.keyring, timeout),
                      exposition=exposition)
