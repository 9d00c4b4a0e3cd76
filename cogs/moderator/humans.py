"""Moderating humans after the fact, as a pipeline of small steps.

A human's message (or edit) goes through ``HUMAN_STEPS`` in order, each step one ``HumanStep`` looking at and
adding to one ``HumanCase``: the guards (moderation on, a human author, not exempt), the checks (filters, the
toxicity model), the ladder's decision (delete? how many warning points? which rung?), then the actions (delete,
warn or time out) and the case. A step that returns False ends the pipeline: nothing (more) happens to the message.
Adding a step is one class and one entry in the list.

Warning points (``WarningPoints``) are stored per server and fade by the hour; a pardon takes back what its case
added.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import ClassVar

from prometheus_client import Counter

from bot.actions import Action, DeleteMessage, SendDirectMessage, TimeoutMember
from bot.cases import CaseService
from bot.events import MessageCreated, MessageEdited
from bot.scoring import TextAssessment
from cogs.moderator.config import HumanSettings, ModeratorSettings
from domain import Actor, ActorKind, Room
from policy.moderation import LadderStep, compile_filters, decayed_points, filter_reason, ladder_step
from policy.moderation_text import normalize
from storage.cases import CaseRecord
from storage.moderation import PointsRepository

HumanMessage = MessageCreated | MessageEdited
Assess = Callable[[str, Room], Awaitable[TextAssessment | None]]
PublishScores = Callable[[HumanMessage, Mapping[str, float]], Awaitable[None]]


@dataclass(slots=True)
class HumanCase:
    """One human message on its way through the pipeline: what the steps found and decided so far."""

    event: HumanMessage
    settings: ModeratorSettings
    rule: str | None = None  # the first check that objected
    reason: str = ""
    model_action: str | None = None  # the model's action for humans: "delete", "warn", "timeout" or "log"
    scores: Mapping[str, float] = field(default_factory=dict)
    delete: bool = False
    gained: float = 0.0  # warning points this message adds
    total: float = 0.0  # the author's points with it
    rung: LadderStep | None = None  # the ladder's step that applies
    actions: list[Action] = field(default_factory=list)
    done: list[str] = field(default_factory=list)  # what was done, as the case records it: delete, warn, timeout 600s

    @property
    def room(self) -> Room:
        return self.event.room

    @property
    def author(self) -> Actor:
        return self.event.author

    @property
    def humans(self) -> HumanSettings:
        return self.settings.humans

    def found(self, rule: str, reason: str) -> None:
        if self.rule is None:
            self.rule, self.reason = rule, reason


class HumanStep(ABC):
    """One step of the human pipeline."""

    name: ClassVar[str]

    @abstractmethod
    async def run(self, case: HumanCase) -> bool:
        """Look at or add to ``case``; False ends the pipeline."""


class WarningPoints:
    """Humans' warning points per server, as they stand at an event time (stored as value and time; they fade)."""

    def __init__(self, repo: PointsRepository) -> None:
        self.repo = repo

    async def at(self, server: str, user_id: str, at: float, decay_per_hour: float) -> float | None:
        held = await self.repo.get(server, user_id)
        if held is None:
            return None
        return decayed_points(held.points, held.updated_at, at, decay_per_hour)

    async def set(self, server: str, user_id: str, points: float, at: float) -> None:
        await self.repo.set(server, user_id, points, at)

    async def take_back(self, case: CaseRecord, at: float, decay_per_hour: float) -> float | None:
        """Remove the points ``case`` added; the points left, or None when the user holds none."""
        current = await self.at(case.server, case.target_id, at, decay_per_hour)
        if current is None:
            return None
        left = max(0.0, current - case.points)
        await self.repo.set(case.server, case.target_id, left, at)
        return left


# --- guards ---------------------------------------------------------------------------------------------------------


class ModerationOn(HumanStep):
    """Moderation, and human moderation, are on in this room."""

    name = "enabled"

    async def run(self, case: HumanCase) -> bool:
        return case.settings.enabled and case.humans.enabled


class HumanAuthor(HumanStep):
    """Only humans' messages: agents posting around the gate get the agent chain, plain bots nothing."""

    name = "human"

    async def run(self, case: HumanCase) -> bool:
        return case.author.kind is ActorKind.HUMAN


class NotExempt(HumanStep):
    """Exempt users and members of exempt roles are never moderated (counted)."""

    name = "exempt"

    def __init__(self, exempt_metric: Counter) -> None:
        self.exempt_metric = exempt_metric

    async def run(self, case: HumanCase) -> bool:
        humans, author = case.humans, case.author
        if author.id in humans.exempt_users or (author.roles & set(humans.exempt_roles)):
            self.exempt_metric.inc()
            return False
        return True


# --- checks ---------------------------------------------------------------------------------------------------------


class FilterCheck(HumanStep):
    """The server's word and pattern filters over the normalised text."""

    name = "filters"

    async def run(self, case: HumanCase) -> bool:
        settings = case.settings.filters
        if settings.enabled:
            filters = compile_filters(settings.words, settings.patterns)
            if not filters.empty:
                hit = filters.find(normalize(case.event.text))
                if hit is not None:
                    case.found("filters", filter_reason(hit))
        return True


class ToxicityCheck(HumanStep):
    """The toxicity model, when its service runs: its scores are published (whatever they say) and kept."""

    name = "toxicity"

    def __init__(self, assess: Assess, publish_scores: PublishScores) -> None:
        self.assess = assess
        self.publish_scores = publish_scores

    async def run(self, case: HumanCase) -> bool:
        if not case.settings.toxicity.enabled:
            return True
        assessment = await self.assess(case.event.text, case.room)
        if assessment is None:
            return True
        case.scores = assessment.scores
        if assessment.scores:
            await self.publish_scores(case.event, assessment.scores)
        if case.rule is None and assessment.action is not None:
            case.found("toxicity", assessment.reason or f"the model flagged it ({assessment.label or 'toxicity'})")
            case.model_action = assessment.action
        return True


class Violation(HumanStep):
    """Nothing objected: the message stands."""

    name = "violation"

    async def run(self, case: HumanCase) -> bool:
        return case.rule is not None


# --- the ladder's decision ------------------------------------------------------------------------------------------


class LadderDecision(HumanStep):
    """Whether to delete, the points the violation adds (none when the model says only "log") and the rung they
    reach; the model's "timeout" reaches at least the ladder's first timeout."""

    name = "ladder"

    def __init__(self, points: WarningPoints) -> None:
        self.points = points

    async def run(self, case: HumanCase) -> bool:
        humans, model_action = case.humans, case.model_action
        case.delete = humans.delete and model_action not in ("warn", "log")
        add_points = model_action != "log"
        current = await self.points.at(
            case.room.server_key, case.author.id, case.event.at, humans.decay_points_per_hour
        )
        case.gained = humans.points_per_violation if add_points else 0.0
        case.total = (current or 0.0) + case.gained
        rung = ladder_step(case.total, [s.step() for s in humans.ladder]) if add_points else None
        if model_action == "timeout" and (rung is None or rung.action != "timeout"):
            timeouts = [s.step() for s in sorted(humans.ladder, key=lambda s: s.points) if s.action == "timeout"]
            rung = timeouts[0] if timeouts else rung
        case.rung = rung
        return True


# --- actions and the case -------------------------------------------------------------------------------------------


class DeleteAction(HumanStep):
    name = "delete"

    async def run(self, case: HumanCase) -> bool:
        if case.delete:
            case.actions.append(
                DeleteMessage(room=case.room, message_id=case.event.message_id, reason=f"{case.rule}: {case.reason}")
            )
            case.done.append("delete")
        return True


class WarnAction(HumanStep):
    """The "warn" rung: a direct message saying why and how many points the author holds."""

    name = "warn"

    async def run(self, case: HumanCase) -> bool:
        if case.rung is None or case.rung.action != "warn":
            return True
        room = case.room
        case.actions.append(
            SendDirectMessage(
                target_platform=room.platform,
                user_id=case.author.id,
                text=f"Warning from the moderators of #{room.channel}: your message {case.reason}"
                + (" and was removed." if case.delete else ".")
                + f" You have {case.total:.1f} warning point(s); they fade over time.",
            )
        )
        case.done.append("warn")
        return True


class TimeoutAction(HumanStep):
    name = "timeout"

    async def run(self, case: HumanCase) -> bool:
        rung = case.rung
        if rung is None or rung.action != "timeout":
            return True
        case.actions.append(
            TimeoutMember(
                room=case.room, user_id=case.author.id, seconds=rung.seconds, reason=f"{case.rule}: {case.reason}"
            )
        )
        case.done.append(f"timeout {rung.seconds}s")
        return True


class OpenCase(HumanStep):
    """Every violation is a case (flagged log_only where the room only records); in log-only mode nothing more
    happens."""

    name = "case"

    def __init__(self, cases: CaseService) -> None:
        self.cases = cases

    async def run(self, case: HumanCase) -> bool:
        event, log_only = case.event, case.settings.log_only
        assert case.rule is not None  # (``Violation`` ran before)
        await self.cases.open(
            room=case.room,
            target=case.author,
            at=event.at,
            verdict="delete" if case.delete else "flag",
            rule=case.rule,
            reason=case.reason,
            text=event.text,
            action="+".join(case.done or ["log"]),
            scores=MappingProxyType(dict(case.scores)),
            message_id=event.message_id,
            log_only=log_only,
            points=0.0 if log_only else case.gained,
        )
        return not log_only


class RecordPoints(HumanStep):
    """The author's new points, and the actions counted by kind (``log`` when there was none)."""

    name = "points"

    def __init__(self, points: WarningPoints, actions_metric: Counter) -> None:
        self.points = points
        self.actions_metric = actions_metric

    async def run(self, case: HumanCase) -> bool:
        if case.gained:
            await self.points.set(case.room.server_key, case.author.id, case.total, case.event.at)
        for done in case.done or ["log"]:
            self.actions_metric.labels(done.split(" ")[0]).inc()
        return True


def human_steps(
    *,
    points: WarningPoints,
    cases: CaseService,
    assess: Assess,
    publish_scores: PublishScores,
    exempt_metric: Counter,
    actions_metric: Counter,
) -> list[HumanStep]:
    """The default pipeline, in the order the steps run."""
    return [
        HumanAuthor(),
        ModerationOn(),
        NotExempt(exempt_metric),
        FilterCheck(),
        ToxicityCheck(assess, publish_scores),
        Violation(),
        LadderDecision(points),
        DeleteAction(),
        WarnAction(),
        TimeoutAction(),
        OpenCase(cases),
        RecordPoints(points, actions_metric),
    ]


class HumanPipeline:
    """Runs the steps in order over one message; the actions to perform, or None when a step ended it early."""

    def __init__(self, steps: Sequence[HumanStep]) -> None:
        self.steps = tuple(steps)

    async def run(self, event: HumanMessage, settings: ModeratorSettings) -> list[Action] | None:
        case = HumanCase(event, settings)
        for step in self.steps:
            if not await step.run(case):
                return None
        return case.actions
