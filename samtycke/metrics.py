"""Prometheus metrics, one registry per app so that tests and workers stay apart."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

# The *_created series double the output and say nothing an operator needs.
disable_created_metrics()  # type: ignore[no-untyped-call]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _Callback(Collector):
    """Gauges read at scrape time, so nothing keeps them up to date on the hot path."""

    def __init__(self) -> None:
        self.readers: list[tuple[str, str, Callable[[], float]]] = []

    def collect(self):  # type: ignore[no-untyped-def]
        for name, help_text, read in self.readers:
            family = GaugeMetricFamily(name, help_text)
            family.add_metric([], read())
            yield family


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "samtycke_http_requests",
            "HTTP requests by route and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "samtycke_http_request_seconds",
            "Time to answer, by route.",
            ["route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=self.registry,
        )
        self.dropped = Counter(
            "samtycke_dropped_events",
            "Tracking hits dropped, by reason.",
            ["reason"],
            registry=self.registry,
        )
        self.ship_latency = Histogram(
            "samtycke_ship_seconds",
            "Time for one insert of journalled rows into ClickHouse.",
            ["table"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.shipped = Counter(
            "samtycke_shipped_rows",
            "Rows shipped from the journal into ClickHouse.",
            ["table"],
            registry=self.registry,
        )
        self.commit_latency = Histogram(
            "samtycke_journal_commit_seconds",
            "Time for one group commit: the journal write and its fsync.",
            buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1),
            registry=self.registry,
        )
        self.commit_records = Histogram(
            "samtycke_journal_commit_records",
            "Records acknowledged by one group commit.",
            buckets=(1, 2, 5, 10, 25, 50, 100, 250, 1000, 10000),
            registry=self.registry,
        )
        self.storage_up = Gauge(
            "samtycke_storage_up",
            "1 when ClickHouse answered the last check.",
            registry=self.registry,
        )
        self._callbacks = _Callback()
        self.registry.register(self._callbacks)

    def gauge(self, name: str, help_text: str, read: Callable[[], float]) -> None:
        self._callbacks.readers.append((name, help_text, read))

    def observe_ship(self, table: str, rows: int, seconds: float) -> None:
        self.ship_latency.labels(table).observe(seconds)
        self.shipped.labels(table).inc(rows)

    def observe_commit(self, records: int, seconds: float) -> None:
        self.commit_latency.observe(seconds)
        self.commit_records.observe(records)

    def render(self) -> bytes:
        return generate_latest(self.registry)
