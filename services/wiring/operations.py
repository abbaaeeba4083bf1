"""The operations domain's parts, built from the config and their clients (the root orders the builders)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.config import Config
from services.infra import IndexBuild
from services.operations import AuditLog, Liveness, MetricsExposition, Observer, Readiness
from services.wiring.mail import Mail
from services.wiring.tokens import Tokens


@dataclass(frozen=True)
class Operations:
    audit: AuditLog
    observer: Observer
    readiness: Readiness
    liveness: Liveness  # shared with the processes forked after it was made (services/operations/liveness.py)
    exposition: MetricsExposition | None  # None when METRICS_ENABLED is off


def build_operations(*, config: Config, redis: Any, database: Any, indexes: IndexBuild, tokens: Tokens, mail: Mail,
                     audit: AuditLog, observer: Observer, liveness: Liveness, webhooks: Any = None) -> Operations:
    """`webhooks`: the webhook queue, for its depth and dead letters on /metrics (None without WEBHOOKS)."""
    timeout = config.readiness_timeout_seconds
    exposition = (MetricsExposition(directory=config.metrics_path, keyring=tokens.keyring, outbox=mail.outbox,
                                    timeout=timeout, webhooks=webhooks) if config.metrics_enabled else None)
    readiness = Readiness(redis=redis, database=database, indexes=indexes, keyring=tokens.keyring,
                          timeout=timeout)
    return Operations(audit=audit, observer=observer, readiness=readiness, liveness=liveness, exposition=exposition)
