"""Prometheus metrics, one registry per app so that several apps (tests) never share counters.

A labelled sample touched per message is reached through ``Children``: its child for a set of label values is
looked up once (``labels()`` hashes and checks the values on every call), and kept as long as the metric keeps it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.metrics import MetricWrapperBase

W = TypeVar("W", Counter, Gauge, Histogram)


class Children(Generic[W]):
    """The children of one labelled metric by their label values, each looked up in the metric once. Bounded by
    what the metric itself holds: label values here are names (event classes, actions, rules), never ids."""

    __slots__ = ("_children", "metric")

    def __init__(self, metric: W) -> None:
        self.metric: W = metric
        self._children: dict[tuple[str, ...], W] = {}

    def __call__(self, *labels: str) -> W:
        child = self._children.get(labels)
        if child is None:
            child = self._children[labels] = self.metric.labels(*labels)
        return child


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._made: dict[str, MetricWrapperBase] = {}
        self.events_in = self.counter("steward_events_total", "Events published on the bus", ["event"])
        self.events_dropped = self.counter(
            "steward_events_dropped_total", "Events dropped because a bus queue was full", ["event"]
        )
        self.listener_errors = self.counter(
            "steward_listener_errors_total", "Listener calls that raised", ["cog", "listener"]
        )
        self.decisions = self.counter(
            "steward_decisions_total", "Moderation decisions by verdict and rule", ["verdict", "rule"]
        )
        self.actions = self.counter(
            "steward_actions_total", "Actions performed by adapters", ["action", "platform", "outcome"]
        )
        self.rejected_input = self.counter(
            "steward_rejected_input_total", "Malformed inputs rejected at the boundary", ["source", "reason"]
        )
        self.queue_depth = self.gauge("steward_bus_queue_depth", "Events waiting in the bus queues", [])

    def counter(self, name: str, doc: str, labels: Sequence[str] = ()) -> Counter:
        metric = self._get(name, lambda: Counter(name, doc, list(labels), registry=self.registry))
        assert isinstance(metric, Counter)
        return metric

    def gauge(self, name: str, doc: str, labels: Sequence[str] = ()) -> Gauge:
        metric = self._get(name, lambda: Gauge(name, doc, list(labels), registry=self.registry))
        assert isinstance(metric, Gauge)
        return metric

    def histogram(
        self, name: str, doc: str, labels: Sequence[str] = (), buckets: Sequence[float] | None = None
    ) -> Histogram:
        def make() -> Histogram:
            if buckets is None:
                return Histogram(name, doc, list(labels), registry=self.registry)
            return Histogram(name, doc, list(labels), registry=self.registry, buckets=list(buckets))

        metric = self._get(name, make)
        assert isinstance(metric, Histogram)
        return metric

    def _get(self, name: str, make: Callable[[], MetricWrapperBase]) -> MetricWrapperBase:
        metric = self._made.get(name)
        if metric is None:
            metric = self._made[name] = make()
        return metric

    def value(self, name: str, **labels: str) -> float:
        """The current value of a sample (0 when absent); what tests and the console's status read."""
        found = self.registry.get_sample_value(name, labels or None)
        return float(found or 0.0)

    def render(self) -> bytes:
        return generate_latest(self.registry)
