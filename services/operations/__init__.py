"""Operations: what the server tells the people who run it: the audit trail, metrics, readiness, request ids and
the format of its log lines."""

from services.operations.audit import AUDIT_KEY_FILE, AuditLog, audit_key
from services.operations.liveness import Liveness
from services.operations.log_format import configure_logging
from services.operations.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from services.operations.metrics import Metrics, MetricsExposition, mark_process_dead, prepare_metrics_dir
from services.operations.observer import NO_OBSERVER, Observer
from services.operations.readiness import Readiness, all_ok
from services.operations.redaction import REDACTED, log_safe_exception, protect_foreign_loggers, redact_url, scrub
from services.operations.request_ids import HEADER as REQUEST_ID_HEADER
from services.operations.request_ids import current_request_id, request_id_from

__all__ = ["AUDIT_KEY_FILE", "METRICS_CONTENT_TYPE", "NO_OBSERVER", "REDACTED", "REQUEST_ID_HEADER", "AuditLog",
           "Liveness", "Metrics", "MetricsExposition", "Observer", "Readiness", "all_ok", "audit_key",
           "configure_logging", "current_request_id", "log_safe_exception", "mark_process_dead",
           "prepare_metrics_dir", "protect_foreign_loggers", "redact_url", "request_id_from", "scrub"]
