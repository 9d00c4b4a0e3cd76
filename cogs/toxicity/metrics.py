"""The toxicity scorer's Prometheus metrics: model readiness and load time, texts scored (and by which backend),
flagged and unscored, texts shed to the fast model under overload, batch sizes and batch times."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prometheus_client import Counter, Gauge, Histogram

    from bot.metrics import Metrics

BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


@dataclass(frozen=True, slots=True)
class ToxicityMetrics:
    ready: Gauge
    load_seconds: Gauge
    scored: Counter
    decided: Counter
    flagged: Counter
    unavailable: Counter
    shed: Counter
    shedding: Gauge
    batch_size: Histogram
    batch_seconds: Histogram

    @classmethod
    def register(cls, metrics: Metrics) -> ToxicityMetrics:
        return cls(
            ready=metrics.gauge("steward_toxicity_model_ready", "1 when the toxicity model is loaded"),
            load_seconds=metrics.gauge("steward_toxicity_load_seconds", "Seconds the toxicity model took to load"),
            scored=metrics.counter("steward_toxicity_scored_total", "Texts scored by the model", ["audience"]),
            decided=metrics.counter(
                "steward_toxicity_decided_total", "Texts judged, by the backend whose verdict counted", ["backend"]
            ),
            flagged=metrics.counter(
                "steward_toxicity_flagged_total",
                "Texts whose scores crossed a threshold",
                ["audience", "label", "action"],
            ),
            unavailable=metrics.counter(
                "steward_toxicity_unavailable_total", "Texts that could not be scored", ["audience", "reason"]
            ),
            shed=metrics.counter(
                "steward_toxicity_shed_total",
                "Texts meant for Detoxify scored by the fast model because Detoxify could not answer in time",
                ["audience", "reason"],
            ),
            shedding=metrics.gauge(
                "steward_toxicity_shedding", "1 while Detoxify is overloaded and texts go to the fast model"
            ),
            batch_size=metrics.histogram(
                "steward_toxicity_batch_size", "Texts per forward pass", buckets=BATCH_BUCKETS
            ),
            batch_seconds=metrics.histogram(
                "steward_toxicity_batch_seconds", "Seconds per batch (tokenise, forward, aggregate)"
            ),
        )

    def model_loaded(self, seconds: float) -> None:
        self.ready.set(1)
        self.load_seconds.set(seconds)

    def observe_batch(self, size: int, seconds: float) -> None:
        self.batch_size.observe(size)
        self.batch_seconds.observe(seconds)
