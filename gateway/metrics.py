"""Prometheus metrics: HTTP requests per route and GraphQL operations per name, counts and latency.

With ``milesgate serve --workers N`` every uvicorn process counts its own requests. prometheus_client's
multiprocess mode adds them up: ``serve`` names a private directory in ``PROMETHEUS_MULTIPROC_DIR`` before
the worker processes start (``multiprocess_directory``), each process writes its values to its own files
there, and ``/metrics``, whichever process answers it, reads them all (``Metrics.render``). A gauge must
say how its processes' values combine (``multiprocess_mode``, e.g. ``livemostrecent``); counters and
histograms are summed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hmac
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, values
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from pydantic import SecretStr

from gateway.tokens import bearer_token

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


_OPERATION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
MAX_OPERATION_NAMES = 500
MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
"""prometheus_client reads it once, when it is first imported: set before any worker process starts."""


def multiprocess_dir() -> Path | None:
    """The directory of multiprocess mode, when this process runs in it (set and taken up at import)."""
    path = os.environ.get(MULTIPROCESS_ENV)
    if not path or not getattr(values.ValueClass, "_multiprocess", False):
        return None
    return Path(path)


@contextlib.contextmanager
def multiprocess_directory() -> Iterator[Path]:
    """For the processes started inside: ``PROMETHEUS_MULTIPROC_DIR`` names a directory that holds no
    earlier run's values.

    Unset: a new private directory (mode 0700) under the temporary directory, removed afterwards. Set by
    the operator: that directory, emptied of the metric files of an earlier run (it must not be shared
    with another service)."""
    given = os.environ.get(MULTIPROCESS_ENV)
    if given:
        path = Path(given)
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink()
        yield path
        return
    path = Path(tempfile.mkdtemp(prefix="milesgate-metrics-"))
    os.environ[MULTIPROCESS_ENV] = str(path)
    try:
        yield path
    finally:
        os.environ.pop(MULTIPROCESS_ENV, None)
        shutil.rmtree(path, ignore_errors=True)


@dataclass(frozen=True)
class Backlog:
    """What waits in the database for the workers, read at one moment (``gateway.workers.metrics``).

    Ages are seconds since the oldest waiting row was written; 0 when nothing waits."""

    inbox: Mapping[str, int]
    """Partner inbox rows by state: pending, failed (dead letters), unmatched (parked)."""
    inbox_oldest_pending_s: float
    outbound_pending: int
    outbound_oldest_pending_s: float
    outbound_dead_letters: int
    relay_pending: int
    relay_lag_s: float
    """Age of the oldest domain event not yet relayed."""
    notifications_pending: int
    notifications_oldest_pending_s: float


class BacklogMetrics:
    """The worker's gauges of what waits. Every worker reads the same database, so each exports the same
    numbers: alert on ``max`` over them. In multiprocess mode the most recent reading of a live process
    counts (``livemostrecent``)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        def gauge(name: str, documentation: str, labels: tuple[str, ...] = ()) -> Gauge:
            return Gauge(name, documentation, labels, registry=registry, multiprocess_mode="livemostrecent")

        self.inbox_depth = gauge(
            "milesgate_inbox_depth",
            "Partner inbox rows by state: pending (waiting for a worker), failed (dead letters), unmatched (parked)",
            ("state",),
        )
        self.inbox_oldest_pending = gauge(
            "milesgate_inbox_oldest_pending_age_seconds", "Age of the oldest pending partner inbox row"
        )
        self.outbound_depth = gauge(
            "milesgate_outbound_queue_depth", "Outbound webhook deliveries pending (queued or retrying)"
        )
        self.outbound_oldest_pending = gauge(
            "milesgate_outbound_oldest_pending_age_seconds", "Age of the oldest pending outbound delivery"
        )
        self.dead_letters = gauge(
            "milesgate_dead_letters",
            "Dead letters by queue: inbox rows that failed, outbound deliveries that used up their schedule",
            ("queue",),
        )
        self.relay_backlog = gauge("milesgate_relay_backlog", "Domain events not yet relayed")
        self.relay_lag = gauge(
            "milesgate_relay_lag_seconds", "Age of the oldest domain event not yet relayed"
        )
        self.notification_depth = gauge(
            "milesgate_notification_outbox_depth", "Member notifications (e-mail, push) waiting to be sent"
        )
        self.notification_oldest_pending = gauge(
            "milesgate_notification_oldest_pending_age_seconds", "Age of the oldest notification waiting"
        )
        self.read_at = gauge(
            "milesgate_backlog_read_timestamp_seconds", "When these backlog gauges were last read (Unix time)"
        )
        self.read_errors = Counter(
            "milesgate_backlog_read_errors", "Backlog readings that failed", registry=registry
        )

    def record(self, backlog: Backlog, *, read_at: dt.datetime) -> None:
        for state, count in backlog.inbox.items():
            self.inbox_depth.labels(state).set(count)
        self.inbox_oldest_pending.set(backlog.inbox_oldest_pending_s)
        self.outbound_depth.set(backlog.outbound_pending)
        self.outbound_oldest_pending.set(backlog.outbound_oldest_pending_s)
        self.dead_letters.labels("inbox").set(backlog.inbox.get("failed", 0))
        self.dead_letters.labels("outbound").set(backlog.outbound_dead_letters)
        self.relay_backlog.set(backlog.relay_pending)
        self.relay_lag.set(backlog.relay_lag_s)
        self.notification_depth.set(backlog.notifications_pending)
        self.notification_oldest_pending.set(backlog.notifications_oldest_pending_s)
        self.read_at.set(read_at.timestamp())


class Metrics:
    """One registry per app, so tests and several apps in one process do not share counters."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.multiprocess_dir = multiprocess_dir()
        self._backlog: BacklogMetrics | None = None
        self._operation_names: set[str] = set()
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}
        self.http_requests = Counter(
            "milesgate_http_requests",
            "HTTP requests by route template, method and status",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.http_latency = Histogram(
            "milesgate_http_request_seconds",
            "HTTP request latency by route template",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.graphql_operations = Counter(
            "milesgate_graphql_operations",
            "GraphQL operations by name, type and outcome (ok or error)",
            ["operation", "type", "outcome"],
            registry=self.registry,
        )
        self.graphql_latency = Histogram(
            "milesgate_graphql_operation_seconds",
            "GraphQL operation latency by name",
            ["operation", "type"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )

        self.redis_fallbacks = Counter(
            "milesgate_redis_fallbacks",
            "Operations done without Redis while it was unreachable, by use: rate_limit (counted in-process), "
            "cache (a miss), pubsub (published to nobody), queue (left for a later try)",
            ["use"],
            registry=self.registry,
        )

    def count_redis_fallback(self, use: str) -> None:
        self._series(self.redis_fallbacks, use).inc()

    def operation_label(self, name: str | None) -> str:
        """Clients choose operation names: bound the label set so they cannot blow up the series."""
        if not name:
            return "anonymous"
        if name in self._operation_names:
            return name
        if not _OPERATION_NAME.match(name) or len(self._operation_names) >= MAX_OPERATION_NAMES:
            return "other"
        self._operation_names.add(name)
        return name

    def backlog(self) -> BacklogMetrics:
        """The worker's backlog gauges in this registry, for a gateway that runs the worker in-process."""
        if self._backlog is None:
            self._backlog = BacklogMetrics(self.registry)
        return self._backlog

    def render(self) -> bytes:
        """Prometheus text: this process's registry, or in multiprocess mode every process's values."""
        if self.multiprocess_dir is None:
            return generate_latest(self.registry)
        merged = CollectorRegistry()
        MultiProcessCollector(merged, path=str(self.multiprocess_dir))  # type: ignore[no-untyped-call]
        return generate_latest(merged)

    def process_exit(self) -> None:
        """In multiprocess mode, when the process stops: its ``live*`` gauges leave the sums (its counters
        stay: what it counted happened)."""
        if self.multiprocess_dir is not None:
            mark_process_dead(os.getpid(), str(self.multiprocess_dir))  # type: ignore[no-untyped-call]

    def observe_operation(self, name: str, kind: str, outcome: str, seconds: float) -> None:
        self._series(self.graphql_operations, name, kind, outcome).inc()
        self._series(self.graphql_latency, name, kind).observe(seconds)

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        self._series(self.http_requests, route, method, str(status)).inc()
        self._series(self.http_latency, route, method).observe(seconds)

    def _series(self, metric: Counter | Histogram, *labels: str) -> Any:
        """The metric's child for these labels, kept: ``labels()`` checks the names and takes a lock on
        every call. The label sets are bounded (route templates, operation names, status codes)."""
        key = (id(metric), labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child


@dataclass(frozen=True, slots=True)
class MetricsRefusal:
    """Why a scrape is refused: the HTTP status, the error code and its sentence."""

    status: int
    code: str
    message: str


def metrics_refusal(authorization: str | None, token: SecretStr | None) -> MetricsRefusal | None:
    """The one check of ``/metrics`` on the gateway and on the worker: refused while no
    ``MILESGATE_METRICS_TOKEN`` is set, and without that token as the bearer; None lets the scrape in."""
    if token is None:
        return MetricsRefusal(403, "METRICS_DISABLED", "/metrics needs MILESGATE_METRICS_TOKEN to be set")
    given = bearer_token(authorization) or ""
    if not hmac.compare_digest(given.encode(), token.get_secret_value().encode()):
        return MetricsRefusal(401, "METRICS_TOKEN_INVALID", "send the metrics token as a bearer token")
    return None
