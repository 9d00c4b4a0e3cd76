"""Load shedding's bookkeeping: which texts Detoxify could not take, in episodes an operator can read.

When Detoxify cannot answer a text within its budget (its queue at ``queue_limit``, the wait it would have past
``deadline_ms``, or the budget spent while it waited), the scorer has the fast model answer instead and tells
``Shedding``. Each such text is counted (``steward_toxicity_shed_total{audience,reason}``); the first one after a
calm spell starts an episode (``toxicity_shedding_started`` logged once, with why, how many were waiting and the
wait expected), and the episode ends once no text has been shed for ``quiet_seconds`` (``toxicity_shedding_ended``
with how many of the texts for Detoxify were shed and for how long). ``health()`` says whether it is shedding now
and how much, so ``/healthz`` tells an operator that moderation runs on the fast model for part of the traffic.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from bot.logging import get_logger
from cogs.toxicity.metrics import ToxicityMetrics

log = get_logger("steward.toxicity")

QUIET_SECONDS = 10.0  # an episode ends this long after the last text shed


class Shedding:
    """Counts the texts shed and served (answered by Detoxify) and logs one start and one end per episode."""

    def __init__(
        self,
        metrics: ToxicityMetrics,
        *,
        quiet_seconds: float = QUIET_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._metrics = metrics
        self.quiet_seconds = quiet_seconds
        self._clock = clock
        self.total = 0  # texts shed since start
        self.episodes = 0
        self._active = False
        self._started = 0.0
        self._last_shed = 0.0
        self._shed = Counter[str]()  # this episode's (or the last one's) texts shed, by reason
        self._served = 0  # texts Detoxify answered during the episode

    @property
    def active(self) -> bool:
        """Shedding now (a text was shed within ``quiet_seconds``); ends the episode when that is over."""
        self._refresh(self._clock())
        return self._active

    def shed(self, audience: str, reason: str, *, pending: int, expected_wait: float) -> None:
        """One text meant for Detoxify went to the fast model, for ``reason``."""
        now = self._clock()
        self._refresh(now)
        self._metrics.shed.labels(audience=audience, reason=reason).inc()
        self.total += 1
        if not self._active:
            self._active = True
            self.episodes += 1
            self._started = now
            self._shed = Counter()
            self._served = 0
            self._metrics.shedding.set(1)
            log.warning(
                "toxicity_shedding_started",
                reason=reason,
                pending=pending,
                expected_wait=round(expected_wait, 3),
                note="Detoxify cannot keep up: texts it cannot answer in time are scored by the fast model",
            )
        self._shed[reason] += 1
        self._last_shed = now

    def served(self) -> None:
        """Detoxify answered a text in time."""
        now = self._clock()
        self._refresh(now)
        if self._active:
            self._served += 1

    def _refresh(self, now: float) -> None:
        if self._active and now - self._last_shed >= self.quiet_seconds:
            self._active = False
            self._metrics.shedding.set(0)
            shed = sum(self._shed.values())
            # At the start's level: whoever reads warnings learns that the episode is over, not only that it began.
            log.warning(
                "toxicity_shedding_ended",
                shed=shed,
                served=self._served,
                seconds=round(self._last_shed - self._started, 1),
                by_reason=dict(self._shed),
            )

    def health(self) -> dict[str, Any]:
        """``shedding`` (yes / no) and, while it does or once it has, how much."""
        info: dict[str, Any] = {"shedding": "yes" if self.active else "no", "shed_total": self.total}
        if self.episodes:
            shed = sum(self._shed.values())
            reasons = ", ".join(f"{reason} {count}" for reason, count in sorted(self._shed.items()))
            which = "now" if self._active else "last episode"
            info["shed"] = (
                f"{which}: {shed} of {shed + self._served} texts for Detoxify scored by the fast model ({reasons})"
            )
        return info
