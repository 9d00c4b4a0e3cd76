"""The conversation moderator cog: its lifecycle and its listeners.

Signals come from ``MessageCreated`` (humans and agents), ``MessageScored`` (toxicity), ``TrendShifted``
(sentiment) and a periodic sweep on APScheduler (idle stretches, unanswered questions, eviction). The parts:
``rooms.py`` (what is known of each room), ``executor.py`` (signals to done, audited, announced actions),
``notices.py`` (the words), ``commands.py`` (``mode``, ``agentstyle``, ``audit``), ``scheduled.py`` (commands
for later), ``consult.py`` (the optional LLM policy), ``gate.py`` (what reaches the agent publisher).

The moderator never reacts to its own notices: Steward's system messages (author kind SYSTEM), and any message
whose text is one of the notices it posted recently in that room (how a platform echoes our own post back).
"""

from __future__ import annotations

import math
import sys
from dataclasses import replace
from typing import Any

from bot.cog import Cog, CogContext, listener
from bot.events import AgentJoined, AgentLeft, MessageCreated, MessageDeleted, MessageScored, TrendShifted
from bot.publisher import GateOrder
from cogs.conversation.commands import ConversationCommands
from cogs.conversation.config import ConversationSettings
from cogs.conversation.consult import LlmConsultant
from cogs.conversation.executor import ActionExecutor
from cogs.conversation.gate import ConversationGate, ReviewHolder
from cogs.conversation.metrics import ConversationMetrics
from cogs.conversation.notices import Announcer
from cogs.conversation.rooms import Rooms
from cogs.conversation.scheduled import COMMAND_TIMER, MODERATOR_ACTOR, ScheduledCommands
from cogs.conversation.state import RoomState, answers_limit
from domain import ActorKind, Room
from policy.conversation import (
    AuthorKind,
    Signal,
    Trend,
    Turn,
    detect_signals,
    extract_features,
    idle_signal,
    question_signals,
)
from storage.conversation import MODERATOR, AgentStyleRecord, ConversationStore, RoomModeRecord

__all__ = ["COMMAND_TIMER", "MODERATOR_ACTOR", "ConversationCog"]


class ConversationCog(ConversationCommands, Cog):
    name = "conversation"

    def __init__(self, ctx: CogContext) -> None:
        super().__init__(ctx)
        self.store = ConversationStore(ctx.db)
        self.metrics = ConversationMetrics.register(ctx.metrics)
        self.rooms = Rooms(ctx, self.store, self.metrics)
        self.announcer = Announcer(ctx, self.rooms)
        self.scheduled = ScheduledCommands(ctx, self.rooms, self.announcer)
        self.executor = ActionExecutor(ctx, self.rooms, self.store, self.announcer, self.scheduled, self.metrics)
        self.consultant = LlmConsultant(ctx, self.rooms, self.executor, self.metrics)

    # --- lifecycle -------------------------------------------------------------------------------------------------

    async def cog_load(self) -> None:
        await self.store.migrate()
        await self.rooms.load()
        self.ctx.add_gate(ConversationGate(self), order=GateOrder.ROOM_MODE)
        self.ctx.add_holder(ReviewHolder(self))
        self.ctx.add_timer_handler(COMMAND_TIMER, self.scheduled.run)
        base: ConversationSettings = self.ctx.config()
        self.ctx.every(base.sweep_seconds, self.sweep, job_id="sweep")
        self.ctx.add_health("conversation", self._health)
        self.ctx.log.info(
            "conversation_loaded", modes=len(self.rooms.modes), styles=len(self.rooms.styles), at=self.ctx.clock.now()
        )

    async def cog_unload(self) -> None:
        await self.consultant.close()

    def _health(self) -> dict[str, Any]:
        return {
            "up": True,
            "rooms": len(self.rooms.states),
            "modes": sum(1 for r in self.rooms.modes.values() if r.mode != "open"),
        }

    async def drain(self) -> None:
        """Wait for background LLM consultations (tests and shutdown)."""
        await self.consultant.drain()

    # --- what the gate, tests and benchmarks read ------------------------------------------------------------------

    @property
    def states(self) -> dict[str, RoomState]:
        return self.rooms.states

    def mode_record(self, room_key: str) -> RoomModeRecord | None:
        return self.rooms.modes.get(room_key)

    def mode_of(self, room: Room) -> Any:
        return self.rooms.mode_of(room)

    def agent_style(self, room_key: str, agent: str) -> AgentStyleRecord | None:
        return self.rooms.agent_style(room_key, agent)

    def count_gate_rejection(self, rule: str) -> None:
        self.metrics.gate.labels(rule).inc()

    def count_review_hold(self) -> None:
        self.metrics.held.inc()

    async def execute(self, room: Room, action: Any, signal: Signal, *, now: float, source: str = MODERATOR) -> bool:
        """Check, do, audit and announce one action of the moderator; return whether it was done."""
        return await self.executor.execute(room, action, signal, now=now, source=source)

    async def consult_llm(self, room: Room) -> int:
        """Ask the LLM policy about ``room`` now; do what it validly proposes. Return how many actions were done."""
        return await self.consultant.consult(room)

    def features(self, state: RoomState, now: float, cfg: ConversationSettings) -> dict[str, Any]:
        return self.consultant.features(state, now, cfg)

    # --- listeners --------------------------------------------------------------------------------------------------

    def _ignore_reason(self, event: MessageCreated) -> str | None:
        if event.author.kind is ActorKind.SYSTEM:
            return "steward_notice"
        state = self.rooms.states.get(event.room.key)
        if state is not None and state.is_own_notice(event.text):
            return "own_notice_echo"
        if event.author.kind is ActorKind.BOT:
            return "other_bot"
        return None

    def _turn(self, event: MessageCreated, cfg: ConversationSettings) -> Turn:
        """The message as the rules see it: its features, never its text."""
        features = extract_features(
            event.text,
            agents=self.rooms.names(),
            mentions=event.mentions,
            topics=self.rooms.topic_index(cfg),
            action_patterns=self.rooms.compiled(cfg),
            author=event.author.id,
        )
        replied = event.reply_to_author
        return Turn(
            at=event.at,
            message_id=event.message_id,
            author=_shared(event.author.id),
            author_kind=AuthorKind.AGENT if event.author.kind is ActorKind.AGENT else AuthorKind.HUMAN,
            reply_to=event.reply_to,
            reply_to_author=_shared(replied.id) if replied else None,
            features=features,
        )

    def _observe(self, state: RoomState, event: MessageCreated, turn: Turn, cfg: ConversationSettings) -> Turn:
        """Add the turn (an agent's marked when it answers a person); note a reply to an agent (its message may be
        older than the window) and an agent's post under a rate limit."""
        answered = None
        if turn.author_kind is AuthorKind.AGENT:
            answered = state.person_answered(turn.author, turn.at, turn.reply_to, cfg.addressed_window_seconds)
            if answered is not None:
                turn = replace(turn, answers_person=True)
                state.mark_answered(turn.author, answered)
        state.add_turn(turn)
        replied = event.reply_to_author
        if replied is not None and replied.kind is ActorKind.AGENT and replied.id != event.author.id:
            state.note_addressed(replied.id, turn)
        if turn.author_kind is AuthorKind.AGENT:
            style = self.rooms.agent_style(state.room.key, turn.author)
            if style is not None and style.max_per_minute:
                limit = style.max_per_minute
                if answered is not None:
                    limit = answers_limit(limit, cfg.reply_weight)
                if limit:
                    state.count_post(turn.author, limit, turn.at, answers=answered is not None)
        return turn

    @listener(MessageCreated)
    async def on_message(self, event: MessageCreated) -> None:
        reason = self._ignore_reason(event)
        if reason is not None:
            self.metrics.ignored.labels(reason).inc()
            return
        cfg = self.rooms.cfg(event.room)
        await self.rooms.refresh_agents()
        if event.author.kind is ActorKind.AGENT:
            await self.rooms.know_agent(event.author.id)  # registered since the last refresh
        state = self.rooms.state(event.room, event.at)
        async with state.lock:
            # Time passed since the last message: an idle stretch or a question left hanging shows now.
            await self._time_signals(state, event.at, cfg)
            turn = self._turn(event, cfg)
            turn = self._observe(state, event, turn, cfg)
            if cfg.auto_actions:
                view = self.rooms.view(state, event.at, cfg)
                await self.executor.act(state, detect_signals(view, cfg.thresholds(), turn=turn), view, cfg, event.at)
            state.messages_since_llm += 1
        self.consultant.due(state, cfg)

    async def _reassess(self, state: RoomState, at: float, cfg: ConversationSettings) -> None:
        """Something changed in the room besides a message (a score, a trend): what do the rules say now?"""
        if cfg.auto_actions:
            now = max(at, state.last_activity)
            view = self.rooms.view(state, now, cfg)
            await self.executor.act(state, detect_signals(view, cfg.thresholds()), view, cfg, now)

    @listener(MessageScored)
    async def on_scored(self, event: MessageScored) -> None:
        if event.author.kind is ActorKind.SYSTEM or not event.scores:
            return
        state = self.rooms.states.get(event.room.key)
        if state is None:
            return
        value = _toxicity(event.scores)
        if not 0.0 <= value <= 1.0:  # also NaN
            self.ctx.metrics.rejected_input.labels("conversation_scores", "not_a_probability").inc()
            self.ctx.log.warning("conversation_scores_rejected", room=event.room.key, message_id=event.message_id)
            return
        cfg = self.rooms.cfg(event.room)
        async with state.lock:
            state.record_toxicity(event.message_id, value)
            await self._reassess(state, event.at, cfg)

    @listener(TrendShifted)
    async def on_trend(self, event: TrendShifted) -> None:
        state = self.rooms.states.get(event.room.key)
        if state is None:
            return
        cfg = self.rooms.cfg(event.room)
        async with state.lock:
            state.add_trend(Trend(event.at, event.metric, event.before, event.after))
            await self._reassess(state, event.at, cfg)

    @listener(MessageDeleted)
    async def on_deleted(self, event: MessageDeleted) -> None:
        state = self.rooms.states.get(event.room.key)
        if state is None:
            return
        async with state.lock:
            if state.remove(event.message_id):
                self.ctx.log.debug("conversation_turn_forgotten", room=event.room.key, message_id=event.message_id)

    @listener(AgentJoined)
    async def on_agent_joined(self, event: AgentJoined) -> None:
        self.rooms.state(event.room, event.at).mark_present(event.agent)

    @listener(AgentLeft)
    async def on_agent_left(self, event: AgentLeft) -> None:
        state = self.rooms.states.get(event.room.key)
        if state is not None:
            state.mark_absent(event.agent)
            state.addressed.pop(event.agent, None)

    # --- the sweep: idle stretches, unanswered questions, eviction ---------------------------------------------------

    async def sweep(self) -> None:
        now = self.ctx.clock.now()
        await self.rooms.refresh_agents()
        for key, state in list(self.rooms.states.items()):
            if now < state.next_sweep:
                continue  # nothing can be idle, overdue or old enough to forget here yet: a comparison a room
            cfg = self.rooms.cfg(state.room)
            try:
                async with state.lock:
                    await self._time_signals(state, now, cfg)
            except Exception as exc:  # one room's failure must not stop the sweep of the others
                self.ctx.log.exception("conversation_sweep_failed", room=key, error=repr(exc))
            retention = cfg.retention_seconds()
            if now - state.last_activity >= retention and not state.lock.locked():
                self.rooms.evict(key, now)
            else:
                th = cfg.thresholds()
                state.next_sweep = state.sweep_after(th.idle_seconds, th.question_timeout_seconds, retention)
        self.metrics.rooms.set(len(self.rooms.states))

    async def _time_signals(self, state: RoomState, now: float, cfg: ConversationSettings) -> None:
        th = cfg.thresholds()
        if not cfg.auto_actions or not state.time_signals_due(now, th.idle_seconds, th.question_timeout_seconds):
            return  # (nothing is idle or overdue: no view to build)
        view = self.rooms.view(state, now, cfg)
        signals = question_signals(view, th)
        idle = idle_signal(view, th)
        if idle is not None:
            signals.append(idle)
        if signals:
            await self.executor.act(state, signals, view, cfg, now)
        if idle is not None:
            # The stretch is over for the rules: what was raised before it does not carry into the next one.
            state.action_items.clear()


def _shared(name: str) -> str:
    """One copy of an author's id for all the turns that hold it (ids repeat; each message brings its own copy)."""
    return sys.intern(name) if type(name) is str else name


def _toxicity(scores: Any) -> float:
    """The toxicity of a message from a model's scores (its worst label when it has no ``toxicity``); NaN when
    the scores are not numbers."""
    try:
        return float(scores["toxicity"] if "toxicity" in scores else max(scores.values()))
    except (TypeError, ValueError):
        return math.nan
