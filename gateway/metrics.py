"""Prometheus metrics: HTTP requests per route and GraphQL operations per name, counts and latency."""

from __future__ import annotations

import re
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


_OPERATION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
MAX_OPERATION_NAMES = 500


class Metrics:
    """One registry per app, so tests and several apps in one process do not share counters."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
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

    def render(self) -> bytes:
        return generate_latest(self.registry)

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
