"""Prometheus metrics of a worker process, labelled per tenant.

Latency quantiles (p50, p99) come from the ``frontdesk_turn_seconds`` histogram with
``histogram_quantile``; queue depth is read from the broker when Prometheus scrapes.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 3, 5, 8, 13, 21, 34, 60, 120)


class _QueueDepth(Collector):
    def __init__(self, read: Callable[[], dict[str, int]]) -> None:
        self.read = read

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily("frontdesk_queue_depth", "Messages waiting in a queue", labels=["queue"])
        try:
            depths = self.read()
        except Exception:  # the broker is down: report nothing rather than fail the scrape
            depths = {}
        for queue, depth in depths.items():
            family.add_metric([queue], depth)
        yield family


class WorkerMetrics:
    """The worker's counters; pass a fresh registry in tests."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.turns = Counter(
            "frontdesk_turns", "Turns finished, by outcome", ["tenant", "outcome"], registry=r
        )
        self.turn_seconds = Histogram(
            "frontdesk_turn_seconds",
            "Turn latency (run only)",
            ["tenant"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.reply_seconds = Histogram(
            "frontdesk_reply_seconds",
            "Oldest message of a turn to its reply in the outbox",
            ["tenant"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.in_flight = Gauge("frontdesk_turns_in_flight", "Turns running now", ["tenant"], registry=r)
        self.handoffs = Counter(
            "frontdesk_handoffs", "Conversations handed to humans", ["tenant"], registry=r
        )
        self.sends = Counter(
            "frontdesk_sends", "Outbox send attempts by result", ["tenant", "status"], registry=r
        )
        self.failures = Counter("frontdesk_failures", "Failures by kind", ["tenant", "kind"], registry=r)
        self.deferred = Counter(
            "frontdesk_turns_deferred", "Turns put off by fairness limits", ["tenant"], registry=r
        )

    def watch_queues(self, read: Callable[[], dict[str, int]]) -> None:
        """Report queue depths from ``read`` at each scrape."""
        self.registry.register(_QueueDepth(read))

    @contextmanager
    def turn_running(self, tenant_id: int) -> Generator[None]:
        gauge = self.in_flight.labels(str(tenant_id))
        gauge.inc()
        try:
            with self.turn_seconds.labels(str(tenant_id)).time():
                yield
        finally:
            gauge.dec()

    def value(self, name: str, **labels: str) -> float:
        """A sample's current value (tests and the bench)."""
        found = self.registry.get_sample_value(name, labels)
        return 0.0 if found is None else found
