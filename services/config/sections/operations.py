"""Operating settings: processes and how they stop, logs, metrics and readiness probes."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import ClassVar

from services.config.networks import parse_networks
from services.config.setting import check, setting
from services.config.values import ConfigError

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LOG_FORMATS = ("text", "json")
EVENT_LOOPS = ("uvloop", "asyncio")
# Who may read /metrics and the readiness details by default: this host and private networks (RFC 1918, RFC 4193).
PRIVATE_NETWORKS = ("127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")


@dataclass(frozen=True)
class OperationSettings:
    """Processes on a machine and how they stop behind a load balancer, logs, Prometheus metrics, readiness."""

    TITLE: ClassVar[str] = "Processes, logs and metrics"
    PAGES: ClassVar[tuple[str, ...]] = ("operations.md", "deployment.md")

    processes: int = setting(1, "Serving processes on this machine (`serve --processes` overrides it); `0`: one per "
                             "CPU core; above 1 needs `MONGO_URL`.")
    event_loop: str = setting(
        "uvloop", "The serving processes' event loop: `uvloop` (libuv's; GET /user: 6-9 % more requests per second, "
        "35-40 µs less CPU each, bench/README.md) or `asyncio` (the standard library's).")
    shutdown_timeout_seconds: float = setting(20.0, "On SIGTERM, how long requests in flight may take to finish "
                                              "before the process exits anyway, in seconds.")
    shutdown_delay_seconds: float = setting(
        0.0, "On SIGTERM, `/readyz` answers 503 at once but everything else is served as before for this many "
        "seconds, then the process stops listening and drains; a second SIGTERM skips the rest.")
    log_level: str = setting("INFO", "`DEBUG`, `INFO`, `WARNING` or `ERROR`.")
    log_format: str = setting("text", "`text` lines, or `json`: one JSON object per line.")
    metrics_enabled: bool = setting(True, "Count requests, logins, refreshes and rate-limit refusals and serve "
                                    "`GET /metrics` (Prometheus).")
    metrics_dir: str = setting("", "Folder where every server process writes its metric files (emptied at start); "
                               "empty: `DATA_DIR/metrics`.")
    metrics_allowed_networks: tuple[str, ...] = setting(
        PRIVATE_NETWORKS, "Client networks that may read `/metrics` and `/readyz`'s `checks` (by default this host "
        "and private networks, RFC 1918 and RFC 4193); the client address honours `TRUSTED_PROXIES`.")
    readiness_timeout_seconds: float = setting(1.0, "How long `/readyz` waits for Redis and MongoDB (and "
                                               "`/metrics` for the outbox depth), in seconds.")
    audit_hmac_key: str = setting(
        "", "Key of the HMAC-SHA256 that names accounts in audit lines (what a failed login typed as its address): "
        "at least 32 characters, the same on every machine whose audit lines must correlate, and on every machine "
        "that serves sign-in codes (they are stored as an HMAC under it too). Empty: one is made "
        "into `DATA_DIR/audit-hmac.key` on first start, shared by every process using that folder.", secret=True)

    def __post_init__(self) -> None:
        check(self.log_format in LOG_FORMATS, "LOG_FORMAT", f"must be one of {', '.join(LOG_FORMATS)}")
        check(self.readiness_timeout_seconds > 0, "READINESS_TIMEOUT_SECONDS", "must be positive")
        try:
            parse_networks(self.metrics_allowed_networks)
        except ValueError as exc:
            raise ConfigError(f"setting METRICS_ALLOWED_NETWORKS: {exc}") from None
        check(self.log_level.upper() in LOG_LEVELS, "LOG_LEVEL", "must be DEBUG, INFO, WARNING or ERROR")
        check(self.event_loop in EVENT_LOOPS, "EVENT_LOOP", "must be uvloop or asyncio")
        check(self.event_loop != "uvloop" or importlib.util.find_spec("uvloop") is not None, "EVENT_LOOP",
              "uvloop is not installed here (pip install uvloop; none is made for Windows): install it or set asyncio")
        check(self.processes >= 0, "PROCESSES", "must be 0 (one per CPU core) or more")
        check(self.shutdown_timeout_seconds > 0, "SHUTDOWN_TIMEOUT_SECONDS", "must be positive")
        check(self.shutdown_delay_seconds >= 0, "SHUTDOWN_DELAY_SECONDS", "must not be negative")
        check(not self.audit_hmac_key or len(self.audit_hmac_key) >= 32, "AUDIT_HMAC_KEY",
              "must be at least 32 characters (or empty: a key is made into DATA_DIR)")
