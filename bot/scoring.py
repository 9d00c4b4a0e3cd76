"""The contract between the toxicity model and the cogs that use its scores.

The toxicity cog provides a ``TextScorer`` (``ctx.provide(TextScorer, scorer)``); the moderator asks it to assess
each message it judges and publishes the scores (``MessageScored``) so that no other cog runs the model again.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol

from domain import Room


class ScorerState(enum.StrEnum):
    DISABLED = "disabled"
    LOADING = "loading"
    READY = "ready"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class TextAssessment:
    """What the model made of one text, already judged against the room's thresholds.

    ``action`` is None when no label crossed its threshold; otherwise the configured action for the worst label
    ("reject" for agents' messages; "delete", "warn", "timeout" or "log" for humans'). When the model could not
    score (``available`` False), ``action`` carries the configured fail-open (None) or fail-closed ("reject").
    """

    scores: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    label: str | None = None
    action: str | None = None
    reason: str = ""
    available: bool = True


class TextScorer(Protocol):
    @property
    def state(self) -> ScorerState: ...

    async def assess(self, text: str, room: Room, *, agent: bool, waited: float = 0.0) -> TextAssessment:
        """``waited``: seconds the message already waited before this call (a busy scorer may then answer with a
        faster model); callers pass it only when it is above zero."""
        ...
