"""The sentiment cog: its lifecycle and its listeners.

* Scores every message (VADER, the emotion lexicon; toxicity from the moderator's ``MessageScored``) into the
  room's window (``windows.py``), closes windows into trends and publishes ``TrendShifted``.
* Implicit feedback: opens a turn when an agent speaks, attributes the human responses (``feedback.py``), and
  dispatches a ``FeedbackRecorded`` (source ``implicit.sentiment``) when the turn closes with a non-neutral reward.
* Explicit feedback and the feedback store (``recorder.py``): reactions on an agent's message, and *every*
  ``FeedbackRecorded`` on the bus, whoever sent it, stored and optionally forwarded to a webhook.
* Suggestions (``suggester.py``): offers to invite an agent whose topics the room keeps talking about.
* Commands (``commands.py``): ``feedback`` and ``mood``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from bot.actions import Action
from bot.cog import Cog, listener
from bot.events import (
    AgentJoined,
    AgentLeft,
    FeedbackRecorded,
    MemberLeft,
    MessageCreated,
    MessageScored,
    ReactionAdded,
    TrendShifted,
)
from bot.interactions import Click
from cogs.sentiment.classifier import MessageClassifier, TextScores
from cogs.sentiment.commands import SentimentCommands, format_mood, format_summary
from cogs.sentiment.config import SentimentSettings
from cogs.sentiment.feedback import ClosedTurn, TurnBook, reward_event
from cogs.sentiment.forwarder import WebhookForwarder
from cogs.sentiment.recorder import FeedbackRecorder
from cogs.sentiment.suggester import INTERACTION_KIND, Suggester
from cogs.sentiment.windows import ClosedWindow, RoomWindow, RoomWindows, hash32
from domain import ActorKind, Room
from policy.sentiment import KIND_AGENT, KIND_BOT, KIND_HUMAN
from storage.feedback import FeedbackStore

__all__ = ["SentimentCog", "format_mood", "format_summary"]

TOXICITY_LABEL = "toxicity"
# How a window counts an author; Steward's own system messages are not the room's mood.
WINDOW_KIND: Mapping[ActorKind, int] = {
    ActorKind.HUMAN: KIND_HUMAN,
    ActorKind.AGENT: KIND_AGENT,
    ActorKind.BOT: KIND_BOT,
}


def _toxicity(scores: Mapping[str, Any]) -> float | None:
    """The message's toxicity (a model without the usual label: its worst label), or None if not a probability."""
    value = scores.get(TOXICITY_LABEL)
    if value is None:
        numbers = [v for v in scores.values() if isinstance(v, (int, float)) and not isinstance(v, bool)]
        value = max(numbers) if numbers else None
    if not isinstance(value, (int, float)) or not 0 <= value <= 1:  # NaN fails the range test too
        return None
    return float(value)


class SentimentCog(SentimentCommands, Cog):
    name = "sentiment"

    # --- lifecycle -------------------------------------------------------------------------------------------------

    async def cog_load(self) -> None:
        ctx = self.ctx
        cfg: SentimentSettings = ctx.config()
        self.store = FeedbackStore(ctx.db)
        await self.store.migrate()
        self.classifier = MessageClassifier()
        # A room is evicted only once it is quiet for longer than every room's window span T too: its window and its
        # agents' open turns (which last T) have then closed, so eviction changes no reading of recent messages.
        longest = max(c.window_seconds for c in ctx.settings.variants_as(SentimentSettings, self.name))
        self.windows = RoomWindows(
            ctx.config, max_rooms=cfg.max_rooms, idle_seconds=max(cfg.idle_evict_seconds, longest)
        )
        self.recorder = FeedbackRecorder(ctx, self.store, cfg)
        self.suggester = Suggester(ctx, self.store)
        m = ctx.metrics
        self._m_messages = m.counter("steward_sentiment_messages_total", "Messages scored into windows", ["kind"])
        self._m_by_kind: dict[ActorKind, Any] = {}
        self._m_polarity = m.counter(
            "steward_sentiment_polarity_total", "People's messages by class and sarcasm", ["polarity", "sarcastic"]
        )
        self._m_by_class: dict[tuple[str, str], Any] = {}
        self._m_rooms = m.gauge("steward_sentiment_rooms", "Rooms with a window in memory", [])
        self._m_evicted = m.counter("steward_sentiment_evictions_total", "Room windows evicted", ["reason"])
        self._m_windows = m.counter("steward_sentiment_windows_total", "Windows closed into the trend", [])
        self._m_shifts = m.counter("steward_sentiment_trend_shifts_total", "Trend shifts reported", ["metric"])
        self._m_scores = m.counter("steward_sentiment_scores_total", "Toxicity scores received", ["outcome"])
        self._m_neutral = m.counter("steward_feedback_neutral_total", "Agent turns closed without a reward", ["why"])
        await self.recorder.start(cfg)
        ctx.every(cfg.sweep_seconds, self._sweep_job, job_id="sweep")
        ctx.add_health("sentiment", self._health)
        self._provide()

    def _provide(self) -> None:
        """The ``room_sentiment`` service: ``snapshot(room)`` for cogs that want to act on the mood."""
        self.ctx.add_interaction(INTERACTION_KIND, self.on_button)

    async def cog_unload(self) -> None:
        # The bus no longer delivers to us: finish what is open and store its feedback directly. (A cog_load that
        # failed half-way is unloaded too: only what it got to is there.)
        now = self.ctx.clock.now()
        windows: RoomWindows | None = getattr(self, "windows", None)
        for window in list(windows or ()):
            self.windows.pop(window.room)
            for closed_turn in self._close_room(window, now)[1]:
                event = self._reward_event(window.room, closed_turn)
                if event is not None:
                    await self.recorder.record(event)
        recorder: FeedbackRecorder | None = getattr(self, "recorder", None)
        if recorder is not None:
            await recorder.stop()

    def _health(self) -> dict[str, Any]:
        return {
            "up": True,
            "rooms": len(self.windows),
            "webhook_pending": self.recorder.pending,
            "topics": self.suggester.topics_source,
            # texts scored, and repeats answered from the recent scores (classifier.SCORES_KEPT) instead
            "scored": self.classifier.misses,
            "scores_reused": self.classifier.hits,
        }

    @property
    def topics_source(self) -> str:
        return self.suggester.topics_source

    @property
    def forwarder(self) -> WebhookForwarder | None:
        return self.recorder.forwarder

    # --- messages --------------------------------------------------------------------------------------------------

    @listener(MessageCreated)
    async def on_message(self, event: MessageCreated) -> Action | None:
        kind = WINDOW_KIND.get(event.author.kind)
        if kind is None:
            return None
        cfg: SentimentSettings = self.ctx.config(event.room)
        if not cfg.enabled:
            return None
        window, evicted = self.windows.get(event.room, event.at)
        if evicted:
            await self._finish(evicted, event.at, current=event.room)
        closed_windows, closed_turns = self._take_in(event, kind, cfg, window, fresh=bool(evicted))
        if closed_windows:
            await self._emit_windows(closed_windows)
        if closed_turns:
            await self._emit_turns(event.room, closed_turns)
        if kind == KIND_HUMAN and cfg.suggestions.enabled:
            return await self.suggester.suggest(event, cfg)
        return None

    def _take_in(
        self, event: MessageCreated, kind: int, cfg: SentimentSettings, window: RoomWindow, *, fresh: bool
    ) -> tuple[list[ClosedWindow], list[ClosedTurn]]:
        """Score the message into its room's window; an agent's message opens a turn, a person's answers one.
        ``fresh``: rooms were evicted to make the window (the room count changed)."""
        scores = self.classifier.score(event.text)
        at = max(event.at, window.last_at)
        book = TurnBook(span=window.span, responses=window.cap, max_open=cfg.feedback.max_open_turns)
        closed_turns: list[ClosedTurn] = book.expire(window.turns, at) if window.turns else []
        implicit = cfg.feedback.implicit
        baseline = window.current(at) if kind == KIND_AGENT and implicit else None
        message = hash32(event.message_id)
        closed_windows = window.observe(
            at,
            hash32(event.author.id),
            kind,
            message,
            scores.compound,
            scores.pos,
            scores.neg,
            scores.anger,
            scores.frustration,
            scores.joy,
            scores.confusion,
            None,
            scores.words,
        )
        counter = self._m_by_kind.get(event.author.kind)
        if counter is None:
            counter = self._m_by_kind[event.author.kind] = self._m_messages.labels(event.author.kind.value)
        counter.inc()
        if kind == KIND_HUMAN:
            key = (scores.polarity, "yes" if scores.sarcastic else "no")
            by_class = self._m_by_class.get(key)
            if by_class is None:
                by_class = self._m_by_class[key] = self._m_polarity.labels(*key)
            by_class.inc()
        if fresh or window.size == 1:
            self._m_rooms.set(len(self.windows))
        if kind == KIND_AGENT:
            self.recorder.remember_agent_message(event.message_id, event.author.id)
            self.suggester.spoken(event.room, event.author.id)
            if implicit:
                if window.turns is None:
                    window.turns = []
                closed_turns += book.open(window.turns, event.author.id, event.message_id, at, baseline)
        elif kind == KIND_HUMAN and window.turns:
            self._answer(event, window, book, at, message, scores)
        return closed_windows, closed_turns

    @staticmethod
    def _answer(
        event: MessageCreated, window: RoomWindow, book: TurnBook, at: float, message: int, scores: TextScores
    ) -> None:
        """A person's message counts as the response to one open agent turn (``policy.feedback.attribute``)."""
        replied = event.reply_to_author
        turn = book.answer(
            window.turns or [],
            reply_to=event.reply_to,
            reply_to_agent=replied.id if replied is not None and replied.is_agent else None,
            mentions=event.mentions,
        )
        if turn is not None:
            turn.add(
                at=at,
                user=event.author.id,
                message=message,
                compound=scores.compound,
                joy=scores.joy,
                anger=scores.anger,
                frustration=scores.frustration,
                confusion=scores.confusion,
                toxicity=None,
            )

    @listener(MessageScored)
    async def on_scored(self, event: MessageScored) -> None:
        value = _toxicity(event.scores)
        if value is None:
            self._m_scores.labels("rejected").inc()
            self.ctx.log.warning("toxicity_score_rejected", room=event.room.key, message_id=event.message_id)
            return
        window = self.windows.peek(event.room)
        if window is None:
            self._m_scores.labels("no_window").inc()
            return
        message = hash32(event.message_id)
        found = window.attach_score(message, value)
        for turn in window.turns or ():
            turn.add_toxicity(message, value)
        self._m_scores.labels("attached" if found else "pending").inc()

    @listener(MemberLeft)
    async def on_member_left(self, event: MemberLeft) -> None:
        if event.member.kind is not ActorKind.HUMAN:
            return
        window = self.windows.peek(event.room)
        if window is not None and window.turns:
            window.turns[-1].left += 1

    @listener(AgentJoined)
    async def on_agent_joined(self, event: AgentJoined) -> None:
        self.suggester.joined(event.room, event.agent)

    @listener(AgentLeft)
    async def on_agent_left(self, event: AgentLeft) -> None:
        self.suggester.left(event.room, event.agent)

    # --- feedback, reactions, the suggestion button ----------------------------------------------------------------

    @listener(FeedbackRecorded)
    async def on_feedback(self, event: FeedbackRecorded) -> None:
        await self.recorder.record(event)

    @listener(ReactionAdded)
    async def on_reaction(self, event: ReactionAdded) -> None:
        await self.recorder.reaction(event, self.ctx.config(event.room))

    async def on_button(self, click: Click) -> Sequence[Action] | None:
        return await self.suggester.press(click.press, click.kind, click.key, click.choice)

    # --- windows, trends and turns ---------------------------------------------------------------------------------

    async def _emit_windows(self, closed: Iterable[ClosedWindow]) -> None:
        for item in closed:
            self._m_windows.inc()
            for shift in item.shifts:
                self._m_shifts.labels(shift.metric).inc()
                self.ctx.log.info(
                    "trend_shifted",
                    room=item.room.key,
                    metric=shift.metric,
                    before=round(shift.before, 4),
                    after=round(shift.after, 4),
                )
                await self.ctx.bus.publish(
                    TrendShifted(
                        at=item.summary.end, room=item.room, metric=shift.metric, before=shift.before, after=shift.after
                    )
                )

    def _reward_event(self, room: Room, closed: ClosedTurn) -> FeedbackRecorded | None:
        event, why = reward_event(room, closed, self.ctx.config(room))
        if event is None:
            self._m_neutral.labels(why).inc()
        return event

    async def _emit_turns(self, room: Room, closed: Iterable[ClosedTurn]) -> None:
        for item in closed:
            event = self._reward_event(room, item)
            if event is not None:
                # dispatch, not publish: the feedback must not be dropped by a full queue, and it is stored (by our
                # own listener) before the message that closed the turn is done.
                await self.ctx.bus.dispatch(event)

    def _close_room(self, window: RoomWindow, now: float) -> tuple[list[ClosedWindow], list[ClosedTurn]]:
        closed_windows = []
        if window.since_close and window.opened_at is not None:
            closed_windows.append(window.close(min(max(now, window.last_at), window.opened_at + window.span)))
        closed_turns = []
        if window.turns:
            book = TurnBook(span=window.span, responses=window.cap, max_open=len(window.turns) + 1)
            closed_turns = book.close_all(window.turns, now, "evicted")
        return closed_windows, closed_turns

    async def _finish(self, evicted: Iterable[RoomWindow], now: float, *, current: Room | None = None) -> None:
        """Close what an evicted room still had open: its window (trend) and its agents' turns (rewards)."""
        for window in evicted:
            self._m_evicted.labels("idle" if current is None or window.room == current else "capacity").inc()
            self.suggester.forget(window.room)
            closed_windows, closed_turns = self._close_room(window, now)
            await self._emit_windows(closed_windows)
            await self._emit_turns(window.room, closed_turns)

    async def sweep(self, now: float | None = None) -> None:
        """Evict idle rooms; close windows and turns whose time is up (also for rooms that went quiet)."""
        now = self.ctx.clock.now() if now is None else now
        await self._finish(self.windows.idle(now), now)
        for window in self.windows:
            if now < window.next_look:
                continue  # nothing can close or be forgotten here yet: a comparison a quiet room
            opened = window.opened_at
            closed_windows = [window.close(opened + window.span)] if opened is not None and window.due(now) else []
            window.prune(now)
            closed_turns: list[ClosedTurn] = []
            if window.turns:
                book = TurnBook(span=window.span, responses=window.cap, max_open=len(window.turns) + 1)
                closed_turns = book.expire(window.turns, now)
            window.next_look = _look_after(window)
            await self._emit_windows(closed_windows)
            await self._emit_turns(window.room, closed_turns)
        self._m_rooms.set(len(self.windows))

    async def _sweep_job(self) -> None:
        try:
            await self.sweep()
        except Exception as exc:
            self.ctx.log.exception("sentiment_sweep_failed", error=repr(exc))

    def snapshot(self, room: Room, now: float | None = None) -> dict[str, Any] | None:
        """The room's window, average and last windows (the ``room_sentiment`` service other cogs may read)."""
        window = self.windows.peek(room)
        if window is None:
            return None
        at = self.ctx.clock.now() if now is None else now
        return {
            "window": window.current(max(at, window.last_at)),
            "average": window.average(),
            "history": window.history(),
        }


def _look_after(window: RoomWindow) -> float:
    """The earliest time a sweep could close ``window``, forget one of its messages or close one of its turns (a
    little early rather than late); before it the sweep passes the room by."""
    due = float("inf") if window.opened_at is None else window.opened_at + window.span
    oldest = window.oldest_closed_at()
    if oldest is not None:
        due = min(due, oldest + window.span)
    for turn in window.turns or ():
        due = min(due, turn.at + window.span if turn.n < window.cap else 0.0)
    return due - 1e-3
