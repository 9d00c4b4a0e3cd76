"""Moderating humans after the fact, as a pipeline of small steps.

A human's message (or edit) goes through the steps of ``human_steps()`` in order, each one ``HumanStep`` looking
at and adding to one ``HumanReview``: the guards (a human author, moderation on, not exempt), the checks (filters,
the toxicity model), the ladder's decision (delete? how many warning points? which rung?), then the actions
(delete, time out, the notice) and the case. A step that returns False ends the pipeline: nothing (more) happens to
the message. Adding a step is one class and one entry in the list.

Each action is performed as its step runs (``outcomes.ActionOutcomes``), so what follows knows what the platform
did: the notice says "was removed" only when it was, and the case records ``delete_failed: cant_delete_message``
rather than ``delete`` when the platform refused. In log-only mode nothing is performed; the case records what
would have been done.

Warning points (``WarningPoints``) are stored per server, held to a tenth and fade by the hour; a pardon takes back
what its case added.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import ClassVar

from prometheus_client import Counter

from bot.actions import DeleteMessage, SendDirectMessage, TimeoutMember
from bot.cases import CaseService
from bot.events import MessageCreated, MessageEdited
from bot.offload import run_off_loop
from bot.scoring import TextAssessment
from cogs.moderator.config import HumanSettings, ModeratorSettings
from cogs.moderator.outcomes import ActionOutcomes, outcome_label
from domain import Actor, ActorKind, Room
from policy.moderation import LadderStep, compile_filters, decayed_points, filter_reason, held_points, ladder_step
from policy.moderation_text import normalize
from storage.cases import CaseRecord
from storage.moderation import PointsRepository

HumanMessage = MessageCreated | MessageEdited
Assess = Callable[[str, Room, float], Awaitable[TextAssessment | None]]  # text, room, seconds it waited
PublishScores = Callable[[HumanMessage, Mapping[str, float]], Awaitable[None]]


@dataclass(slots=True)
class HumanReview:
    """One human message on its way through the pipeline: what the steps found and decided so far."""

    event: HumanMessage
    settings: ModeratorSettings
    rule: str | None = None  # the first check that objected
    reason: str = ""
    model_action: str | None = None  # the model's action for humans: "delete", "warn", "timeout" or "log"
    scores: Mapping[str, float] = field(default_factory=dict)
    delete: bool = False
    gained: float = 0.0  # warning points this message adds
    total: float = 0.0  # the author's points with it (held to a tenth: what the ladder reads and the notice says)
    rung: LadderStep | None = None  # the ladder's step that applies
    removed: bool = False  # the platform deleted the message
    timed_out: int = 0  # the seconds the platform timed the author out for
    done: list[str] = field(default_factory=list)  # as the case records it: delete, warn, timeout 600s, *_failed: ...

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
    async def run(self, review: HumanReview) -> bool:
        """Look at or add to ``review``; False ends the pipeline."""


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

    async def run(self, review: HumanReview) -> bool:
        return review.settings.enabled and review.humans.enabled


class HumanAuthor(HumanStep):
    """Only humans' messages: agents posting around the gate get the agent chain, plain bots nothing."""

    name = "human"

    async def run(self, review: HumanReview) -> bool:
        return review.author.kind is ActorKind.HUMAN


class NotExempt(HumanStep):
    """Exempt users and members of exempt roles are never moderated (counted)."""

    name = "exempt"

    def __init__(self, exempt_metric: Counter) -> None:
        self.exempt_metric = exempt_metric

    async def run(self, review: HumanReview) -> bool:
        humans, author = review.humans, review.author
        if author.id in humans.exempt_users or (author.roles & set(humans.exempt_roles)):
            self.exempt_metric.inc()
            return False
        return True


# --- checks ---------------------------------------------------------------------------------------------------------


class FilterCheck(HumanStep):
    """The server's word and pattern filters over the normalised text."""

    name = "filters"

    async def run(self, review: HumanReview) -> bool:
        settings = review.settings.filters
        if settings.enabled:
            filters = compile_filters(settings.words, settings.patterns)
            if not filters.empty:
                # Normalising and the several forms the filters look at are not the loop's work for a long text.
                hit = await run_off_loop(lambda text: filters.find(normalize(text)), review.event.text)
                if hit is not None:
                    review.found("filters", filter_reason(hit))
        return True


class ToxicityCheck(HumanStep):
    """The toxicity model, when its service runs: its scores are published (whatever they say) and kept. The
    scorer is told how long the message waited since it was sent (by ``clock``), so that under overload it answers
    within the message's time budget."""

    name = "toxicity"

    def __init__(self, assess: Assess, publish_scores: PublishScores, clock: Callable[[], float]) -> None:
        self.assess = assess
        self.publish_scores = publish_scores
        self.clock = clock

    async def run(self, review: HumanReview) -> bool:
        if not review.settings.toxicity.enabled:
            return True
        event = review.event
        assessment = await self.assess(event.text, review.room, max(0.0, self.clock() - event.at))
        if assessment is None:
            return True
        review.scores = assessment.scores
        if assessment.scores:
            await self.publish_scores(review.event, assessment.scores)
        if review.rule is None and assessment.action is not None:
            review.found("toxicity", assessment.reason or f"the model flagged it ({assessment.label or 'toxicity'})")
            review.model_action = assessment.action
        return True


class Violation(HumanStep):
    """Nothing objected: the message stands."""

    name = "violation"

    async def run(self, review: HumanReview) -> bool:
        return review.rule is not None


# --- the ladder's decision ------------------------------------------------------------------------------------------


class LadderDecision(HumanStep):
    """Whether to delete, the points the violation adds (none when the model says only "log") and the rung they
    reach; the model's "timeout" reaches at least the ladder's first timeout."""

    name = "ladder"

    def __init__(self, points: WarningPoints) -> None:
        self.points = points

    async def run(self, review: HumanReview) -> bool:
        humans, model_action = review.humans, review.model_action
        review.delete = humans.delete and model_action not in ("warn", "log")
        add_points = model_action != "log"
        current = await self.points.at(
            review.room.server_key, review.author.id, review.event.at, humans.decay_points_per_hour
        )
        review.gained = humans.points_per_violation if add_points else 0.0
        review.total = held_points((current or 0.0) + review.gained)
        rung = ladder_step(review.total, [s.step() for s in humans.ladder]) if add_points else None
        if model_action == "timeout" and (rung is None or rung.action != "timeout"):
            timeouts = [s.step() for s in sorted(humans.ladder, key=lambda s: s.points) if s.action == "timeout"]
            rung = timeouts[0] if timeouts else rung
        review.rung = rung
        return True


# --- actions and the case ------------------------------------------------------------------------------------------


class _Act(HumanStep):
    """An action step: performs its action (log-only: only records it) and records the outcome."""

    def __init__(self, outcomes: ActionOutcomes) -> None:
        self.outcomes = outcomes

    async def act(
        self, review: HumanReview, action: DeleteMessage | TimeoutMember | SendDirectMessage, done: str
    ) -> bool:
        """Whether the platform did it (False in log-only mode, where ``done`` is recorded as would-be)."""
        if review.settings.log_only:
            review.done.append(done)
            return False
        result = await self.outcomes.perform(action, room=review.room.key, target=review.author.id, rule=review.rule)
        review.done.append(outcome_label(done, result))
        return result.ok


class DeleteAction(_Act):
    name = "delete"

    async def run(self, review: HumanReview) -> bool:
        if review.delete:
            action = DeleteMessage(
                room=review.room, message_id=review.event.message_id, reason=f"{review.rule}: {review.reason}"
            )
            review.removed = await self.act(review, action, "delete")
        return True


class TimeoutAction(_Act):
    name = "timeout"

    async def run(self, review: HumanReview) -> bool:
        rung = review.rung
        if rung is None or rung.action != "timeout":
            return True
        action = TimeoutMember(
            room=review.room, user_id=review.author.id, seconds=rung.seconds, reason=f"{review.rule}: {review.reason}"
        )
        if await self.act(review, action, f"timeout {rung.seconds}s"):
            review.timed_out = rung.seconds
        return True


class NoticeAction(_Act):
    """The "warn" rung, or a timeout: a direct message saying why, what was done and the points the author holds.
    It claims only what the platform did; a timeout the platform refused leaves a warning."""

    name = "warn"

    async def run(self, review: HumanReview) -> bool:
        rung = review.rung
        if rung is None or (rung.action == "timeout" and review.settings.log_only):
            return True
        room, points = review.room, f"{review.total:.1f}"
        held = f" and are timed out for {_duration(review.timed_out)}" if review.timed_out else ""
        text = (
            f"Warning from the moderators of #{room.channel}: your message {review.reason}"
            + (" and was removed." if review.removed else ".")
            + f" You have {points} warning point(s){held}; they fade over time."
        )
        notice = SendDirectMessage(target_platform=room.platform, user_id=review.author.id, text=text)
        if review.timed_out:  # the timeout is the action; its notice is recorded only when it could not be sent
            sent = await self.outcomes.perform(notice, room=room.key, target=review.author.id, rule=review.rule)
            if not sent.ok:
                review.done.append(outcome_label("notice", sent))
        else:
            await self.act(review, notice, "warn")
        return True


def _duration(seconds: int) -> str:
    for unit, length in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= length and seconds % length == 0:
            count = seconds // length
            return f"{count} {unit}" + ("s" if count != 1 else "")
    return f"{seconds} seconds"


class OpenCase(HumanStep):
    """Every violation is a case (flagged log_only where the room only records); in log-only mode nothing more
    happens."""

    name = "case"

    def __init__(self, cases: CaseService) -> None:
        self.cases = cases

    async def run(self, review: HumanReview) -> bool:
        event, log_only = review.event, review.settings.log_only
        assert review.rule is not None  # (``Violation`` ran before)
        await self.cases.open(
            room=review.room,
            target=review.author,
            at=event.at,
            verdict="delete" if review.delete else "flag",
            rule=review.rule,
            reason=review.reason,
            text=event.text,
            action="+".join(review.done or ["log"]),
            scores=MappingProxyType(dict(review.scores)),
            message_id=event.message_id,
            log_only=log_only,
            points=0.0 if log_only else review.gained,
        )
        return not log_only


class RecordPoints(HumanStep):
    """The author's new points, and the actions counted by kind (``log`` when there was none)."""

    name = "points"

    def __init__(self, points: WarningPoints, actions_metric: Counter) -> None:
        self.points = points
        self.actions_metric = actions_metric

    async def run(self, review: HumanReview) -> bool:
        if review.gained:
            await self.points.set(review.room.server_key, review.author.id, review.total, review.event.at)
        for done in review.done or ["log"]:
            self.actions_metric.labels(done.split(":")[0].split(" ")[0]).inc()
        return True


def human_steps(
    *,
    points: WarningPoints,
    cases: CaseService,
    assess: Assess,
    publish_scores: PublishScores,
    outcomes: ActionOutcomes,
    exempt_metric: Counter,
    actions_metric: Counter,
    clock: Callable[[], float],
) -> list[HumanStep]:
    """The default pipeline, in the order the steps run."""
    return [
        HumanAuthor(),
        ModerationOn(),
        NotExempt(exempt_metric),
        FilterCheck(),
        ToxicityCheck(assess, publish_scores, clock),
        Violation(),
        LadderDecision(points),
        DeleteAction(outcomes),
        TimeoutAction(outcomes),
        NoticeAction(outcomes),
        OpenCase(cases),
        RecordPoints(points, actions_metric),
    ]


class HumanPipeline:
    """Runs the steps in order over one message (the action steps perform their actions) until one ends it."""

    def __init__(self, steps: Sequence[HumanStep]) -> None:
        self.steps = tuple(steps)

    async def run(self, event: HumanMessage, settings: ModeratorSettings) -> HumanReview:
        review = HumanReview(event, settings)
        for step in self.steps:
            if not await step.run(review):
                break
        return review
