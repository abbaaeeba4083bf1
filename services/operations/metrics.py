"""Prometheus metrics, safe across the worker processes of one server (prometheus_client's multiprocess mode).

Every process writes its samples to memory-mapped files of its own in one folder (`METRICS_DIR`, default
`DATA_DIR/metrics`), and a scrape, answered by whichever process gets it, merges every file in the folder: the
counters of all workers add up. The serving process empties the folder at start-up (`prepare_metrics_dir`),
and its supervisor calls `mark_process_dead` when a worker exits.

No metric object lives at module level and none touches the library's global REGISTRY: a `Metrics` is built
with the other services, so tests build as many as they like, each with its own folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess, values
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from services.operations.observer import Observer

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
# Seconds: a cached-token GET /user takes well under a millisecond, a bcrypt login a few hundred.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Any other method a client invents counts as "other": label values must stay few.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def prepare_metrics_dir(directory: Path) -> None:
    """Start-up, before any service or worker exists: an empty folder (the last run's samples are not this
    one's), named in the environment so that worker processes forked later write there too."""
    directory.mkdir(parents=True, exist_ok=True)
    for leftover in directory.glob("*.db"):
        leftover.unlink()
    os.environ[MULTIPROC_ENV] = str(directory)


def mark_process_dead(pid: int, directory: Path) -> None:
    """A worker exited: drop its live gauges' files (its counters stay, so totals never go backwards)."""
    multiprocess.mark_process_dead(pid, str(directory))


class Metrics(Observer):
    """The Prometheus observer: counters and a latency histogram written to this process's files in `directory`."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        # prometheus_client picks the class that stores every sample (`values.ValueClass`) once, at import, from
        # PROMETHEUS_MULTIPROC_DIR, and reads that variable again whenever it creates a sample's file. We may be
        # imported before any folder is known and tests hold many folders in one process, so each Metrics has its
        # own file-backed class, and installs it (with its folder in the variable) only while it creates metrics or
        # label children: see `_creating`. Everything happens on the event loop thread, one at a time.
        self._value_class = values.MultiProcessValue()
        # The library remembers how to close that class's files in a module list, for close_all_multiprocess_files();
        # we take ours out, so closing this Metrics closes its files and never another's.
        self._close_files: Callable[[], None] = values._multi_process_cleanups.pop()
        self._children: dict[tuple[Any, ...], Any] = {}
        self._latency_children: dict[tuple[str, str, int], Any] = {}
        # Labelled metrics hold no sample until `.labels(...)`, which `_child` does under our value class; so
        # building them needs neither the class nor the folder, and a CLI command that builds the services
        # and counts nothing leaves no file and no folder behind.
        self._latency = Histogram("auth_http_request_duration_seconds",
                                  "Time to answer an HTTP request, by route (handler), method and status.",
                                  ("route", "method", "status"), buckets=LATENCY_BUCKETS, registry=None)
        self._logins = Counter("auth_logins", "Password logins by outcome: success or the error code.",
                               ("outcome",), registry=None)
        self._refreshes = Counter("auth_refreshes", "Token refreshes by outcome: success or the error code.",
                                  ("outcome",), registry=None)
        self._mfa = Counter("auth_mfa", "Second-factor enrolments, verifications and removals, by action and "
                            "outcome: success or the error code.", ("action", "outcome"), registry=None)
        self._limited = Counter("auth_rate_limited", "Requests and mails refused by a rate limit, by rule.",
                                ("rule",), registry=None)
        self._reloads = Counter("auth_keyring_reloads", "Rounds of the key ring's reload, by result.",
                                ("result",), registry=None)
        self._webhooks = Counter("auth_webhook_deliveries", "Webhook delivery attempts by outcome: delivered, retry "
                                 "or dead.", ("outcome",), registry=None)
        # Without labels a metric writes its sample file at once: made on first use.
        self._skipped: Counter | None = None
        self._in_flight: Gauge | None = None
        self._dropped: Counter | None = None

    @contextmanager
    def _creating(self) -> Iterator[None]:
        self.directory.mkdir(parents=True, exist_ok=True)
        saved_class, saved_dir = values.ValueClass, os.environ.get(MULTIPROC_ENV)
        values.ValueClass, os.environ[MULTIPROC_ENV] = self._value_class, str(self.directory)
        try:
            yield
        finally:
            values.ValueClass = saved_class
            if saved_dir is None:
                del os.environ[MULTIPROC_ENV]
            else:
                os.environ[MULTIPROC_ENV] = saved_dir

    def _child(self, metric: Any, *labels: str) -> Any:
        """The labelled sample, created once under our value class; later calls are one dict lookup."""
        key = (id(metric), *labels)
        child = self._children.get(key)
        if child is None:
            with self._creating():
                child = self._children[key] = metric.labels(*labels)
        return child

    # --- Observer -------------------------------------------------------------------------------------

    def request_finished(self, route: str, method: str, status: int, seconds: float) -> None:
        # The hot path (every request): one dict lookup on the raw values, no string built on a hit.
        child = self._latency_children.get((route, method, status))
        if child is None:
            child = self._child(self._latency, route, method if method in METHODS else "other", str(status))
            if method in METHODS:  # invented methods are not remembered: they must not grow the dict
                self._latency_children[(route, method, status)] = child
        child.observe(seconds)

    def requests_in_flight(self, count: int) -> None:
        if self._in_flight is None:
            with self._creating():
                # livesum: the scrape adds up the processes that are alive (a dead worker's requests are gone).
                self._in_flight = Gauge("auth_http_requests_in_flight", "Requests being read or answered now, "
                                        "across the live processes.", multiprocess_mode="livesum", registry=None)
        self._in_flight.set(count)

    def login_finished(self, outcome: str) -> None:
        self._child(self._logins, outcome).inc()

    def refresh_finished(self, outcome: str) -> None:
        self._child(self._refreshes, outcome).inc()

    def mfa_outcome(self, action: str, outcome: str) -> None:
        self._child(self._mfa, action, outcome).inc()

    def rate_limited(self, rule: str) -> None:
        self._child(self._limited, rule).inc()

    def keyring_reloaded(self, result: str) -> None:
        self._child(self._reloads, result).inc()

    def key_files_skipped(self, count: int) -> None:
        if self._skipped is None:
            with self._creating():
                self._skipped = Counter("auth_keyring_skipped_files", "Key pairs that could not be read.",
                                        registry=None)
        self._skipped.inc(count)

    def webhook_delivered(self, outcome: str) -> None:
        self._child(self._webhooks, outcome).inc()

    def webhook_event_dropped(self) -> None:
        if self._dropped is None:
            with self._creating():
                self._dropped = Counter("auth_webhook_events_dropped", "Webhook events lost while Redis was "
                                        "unreachable and the publisher's buffer was full.")
        self._dropped.inc()

    def close(self) -> None:
        self._children.clear()
        self._latency_children.clear()
        self._close_files()


class MetricsExposition:
    """`GET /metrics`: every process's files merged, plus what is read at scrape time (key ring, outbox)."""

    def __init__(self, directory: Path, keyring: Any, outbox: Any, timeout: float, webhooks: Any = None) -> None:
        self._directory = directory
        self._webhooks = webhooks
        self._keyring = keyring
        self._outbox = outbox
        self._timeout = timeout

    async def render(self) -> bytes:
        registry = CollectorRegistry(auto_describe=False)
        multiprocess.MultiProcessCollector(registry, path=str(self._directory))
        registry.register(_Snapshot(await self._snapshot()))
        return generate_latest(registry)

    async def _snapshot(self) -> list[GaugeMetricFamily]:
        families = [GaugeMetricFamily("auth_keyring_keys", "Keys in the ring of the process that answered.",
                                      value=len(self._keyring.keys)),
                    GaugeMetricFamily("auth_keyring_signing", "1 while a signing key is loaded, else 0.",
                                      value=int(self._keyring.signing_key is not None))]
        try:
            depth = await asyncio.wait_for(self._outbox.pending(), self._timeout)
        except Exception:  # Redis down or slow: the scrape still answers, without this gauge
            return families
        families.append(GaugeMetricFamily("auth_mail_outbox_depth", "Mails waiting or being sent.", value=depth))
        if self._webhooks is not None:
            with contextlib.suppress(Exception):
                waiting, dead = await asyncio.wait_for(
                    asyncio.gather(self._webhooks.pending(), self._webhooks.dead_count()), self._timeout)
                families += [GaugeMetricFamily("auth_webhook_queue_depth", "Webhook deliveries waiting or being "
                                               "made.", value=waiting),
                             GaugeMetricFamily("auth_webhook_dead_letters", "Webhook deliveries set aside after "
                                               "failing for good.", value=dead)]
        return families


class _Snapshot:
    """A collector of values read once for one scrape."""

    def __init__(self, families: list[GaugeMetricFamily]) -> None:
        self._families = families

    def collect(self) -> list[GaugeMetricFamily]:
        return self._families
