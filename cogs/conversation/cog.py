"""The conversation moderator: watches each room as a whole and keeps multi-agent conversations organised.

Signals come from ``MessageCreated`` (humans and agents), ``MessageScored`` (toxicity), ``TrendShifted``
(sentiment) and a periodic sweep on APScheduler (idle stretches, unanswered questions, eviction). The rules in
``policy.conversation`` (and optionally an LLM policy) propose typed actions; each is checked (human override,
debounce, cooldown, validity), done, stored in the audit log with the actor ``moderator`` and the signal that
caused it, and announced in the room as a Steward system message that says what was done and why.

The moderator never reacts to its own notices: Steward's system messages (author kind SYSTEM), and any message
whose text is one of the notices it posted recently in that room (how a platform echoes our own post back).
"""

from __future__ import annotations

import asyncio
import contextvars
import math
import re
import time
from collections.abc import Sequence
from typing import Any

from bot.actions import SendMessage
from bot.cog import Cog, listener
from bot.commands import CommandError, CommandInvocation, CommandReply, command
from bot.events import (
    AgentJoined,
    AgentLeft,
    AgentRemovalRequested,
    InvitationRequested,
    MessageCreated,
    MessageDeleted,
    MessageScored,
    TrendShifted,
)
from cogs.conversation.config import ConversationSettings
from cogs.conversation.gate import ConversationGate, ReviewHolder
from cogs.conversation.llm import LlmPolicy, ProposalRejected
from cogs.conversation.state import RoomState
from domain import Actor, ActorKind, Room
from policy.conversation import (
    MODE_EFFECT,
    AddParticipantProposal,
    AgentName,
    AgentStyle,
    AuthorKind,
    Mode,
    PostMessageProposal,
    RemoveParticipantProposal,
    RoomView,
    ScheduleCommandProposal,
    SetAgentStyleProposal,
    SetModeProposal,
    Signal,
    SignalKind,
    Trend,
    Turn,
    agent_share,
    compile_patterns,
    cooled_down,
    debounced,
    detect_signals,
    extract_features,
    idle_signal,
    propose,
    question_signals,
)
from storage.conversation import MODERATOR, AgentStyleRecord, ConversationStore, RoomModeRecord
from storage.core import AgentRecord, text_hash

MODERATOR_ACTOR = Actor(platform="steward", id=MODERATOR, kind=ActorKind.SYSTEM, display_name="Steward moderator")
COMMAND_TIMER = "conversation.command"
DEBOUNCED_SIGNALS = frozenset({SignalKind.AGENT_DOMINANCE, SignalKind.AGENTS_BALANCED, SignalKind.AGENT_MONOPOLY})
ONE_SHOT_SIGNALS = frozenset({SignalKind.ACTION_ITEM, SignalKind.UNRESOLVED_QUESTION, SignalKind.IDLE})
STRICTNESS = {Mode.OPEN: 0, Mode.FOCUSED: 1, Mode.REVIEW: 2, Mode.QUIET: 3}
AGENT_REFRESH_SECONDS = 30.0
# The payload of the scheduled command being run, so that the command can say why it was scheduled.
_SCHEDULED: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "conversation_scheduled", default=None
)
AGENT_DIRECTORY = "agent_directory"  # the presence cog's service: which topics each agent covers


def _ago(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 5:
        return "just now"
    if seconds < 90:
        return f"{int(seconds)} seconds ago"
    if seconds < 5400:
        return f"{round(seconds / 60)} minutes ago"
    return f"{round(seconds / 3600, 1)} hours ago"


def _in(seconds: float) -> str:
    if seconds < 90:
        return f"{int(seconds)} seconds"
    if seconds < 5400:
        return f"{round(seconds / 60)} minutes"
    return f"{round(seconds / 3600, 1)} hours"


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


class ConversationCog(Cog):
    name = "conversation"

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.store = ConversationStore(ctx.db)
        self.states: dict[str, RoomState] = {}
        self._modes: dict[str, RoomModeRecord] = {}
        self._styles: dict[str, dict[str, AgentStyleRecord]] = {}  # room key -> agent -> style
        self._agents: dict[str, AgentName] = {}
        self._agents_loaded_at: float | None = None
        self._directory_topics: dict[str, tuple[str, ...]] = {}
        self._patterns: dict[tuple[str, ...], tuple[re.Pattern[str], ...]] = {}
        self._llm: dict[str, LlmPolicy] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        m = ctx.metrics
        self.m_signals = m.counter("steward_conversation_signals_total", "Conversation signals detected", ["signal"])
        self.m_actions = m.counter(
            "steward_conversation_actions_total", "Conversation actions taken", ["action", "source", "outcome"]
        )
        self.m_suppressed = m.counter(
            "steward_conversation_suppressed_total",
            "Proposed actions not taken (debounce, cooldown, human override, no change)",
            ["action", "reason"],
        )
        self.m_ignored = m.counter(
            "steward_conversation_ignored_total", "Messages the moderator did not read as conversation", ["reason"]
        )
        self.m_llm_rejected = m.counter(
            "steward_conversation_llm_rejected_total", "LLM proposals rejected before anything was done", ["reason"]
        )
        self.m_gate = m.counter(
            "steward_conversation_gate_rejections_total", "Agent messages the conversation rules rejected", ["rule"]
        )
        self.m_held = m.counter("steward_conversation_review_holds_total", "Agent messages held for owner review")
        self.m_rooms = m.gauge("steward_conversation_rooms", "Rooms with in-memory conversation state")

    # --- lifecycle -------------------------------------------------------------------------------------------------

    async def cog_load(self) -> None:
        await self.store.migrate()
        self._modes = {r.room: r for r in await self.store.modes()}
        for style in await self.store.agent_styles():
            self._styles.setdefault(style.room, {})[style.agent] = style
        await self._refresh_agents(force=True)
        now = self.ctx.clock.now()
        # A mode the moderator set before a restart must still be able to lapse when the room stays idle.
        for record in self._modes.values():
            if record.set_by == MODERATOR and record.mode != Mode.OPEN:
                try:
                    room = Room.parse(record.room)
                except ValueError:
                    continue
                self._state(room, record.set_at)
        self.ctx.add_gate(ConversationGate(self))
        self.ctx.add_holder(ReviewHolder(self))
        self.ctx.add_timer_handler(COMMAND_TIMER, self._run_scheduled_command)
        base = self.ctx.config()
        self.ctx.every(base.sweep_seconds, self.sweep, job_id="sweep")
        self.ctx.add_health("conversation", self._health)
        self.ctx.log.info("conversation_loaded", modes=len(self._modes), styles=len(self._styles), at=now)

    async def cog_unload(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        for policy in self._llm.values():
            await policy.close()
        self._llm.clear()

    def _health(self) -> dict[str, Any]:
        return {
            "up": True,
            "rooms": len(self.states),
            "modes": sum(1 for r in self._modes.values() if r.mode != Mode.OPEN),
        }

    async def drain(self) -> None:
        """Wait for background LLM consultations (tests and shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # --- lookups used by the gate ----------------------------------------------------------------------------------

    def mode_record(self, room_key: str) -> RoomModeRecord | None:
        return self._modes.get(room_key)

    def mode_of(self, room: Room) -> Mode:
        record = self._modes.get(room.key)
        if record is None:
            return Mode(self.ctx.config(room).default_mode)
        return Mode(record.mode)

    def agent_style(self, room_key: str, agent: str) -> AgentStyleRecord | None:
        return self._styles.get(room_key, {}).get(agent)

    def count_gate_rejection(self, rule: str) -> None:
        self.m_gate.labels(rule).inc()

    def count_review_hold(self) -> None:
        self.m_held.inc()

    # --- state ------------------------------------------------------------------------------------------------------

    def _cfg(self, room: Room) -> ConversationSettings:
        return self.ctx.config(room)

    def _state(self, room: Room, now: float) -> RoomState:
        state = self.states.get(room.key)
        if state is None:
            state = self.states[room.key] = RoomState(room, self._cfg(room).window_messages, now)
            self.m_rooms.set(len(self.states))
        return state

    def _compiled(self, cfg: ConversationSettings) -> tuple[re.Pattern[str], ...]:
        key = tuple(cfg.action_item_patterns)
        found = self._patterns.get(key)
        if found is None:
            found = self._patterns[key] = compile_patterns(key)
        return found

    async def _refresh_agents(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and self._agents_loaded_at is not None and now - self._agents_loaded_at < AGENT_REFRESH_SECONDS:
            return
        self._agents_loaded_at = now
        directory = self.ctx.service(AGENT_DIRECTORY)
        if directory is not None:
            try:
                found = await directory.topics()
                self._directory_topics = {str(a): tuple(str(k) for k in words) for a, words in found.items()}
            except Exception as exc:
                self.ctx.log.warning("conversation_agent_directory_failed", error=repr(exc))
        records = await self.ctx.agents.list()
        self._agents = {r.name: _agent_name(r) for r in records}

    def _topics(self, cfg: ConversationSettings) -> dict[str, tuple[str, ...]]:
        """Topics per agent: what the agents' owners told the presence cog, with the config on top. (An invitation
        for an agent that is not registered is refused when it is checked, not here.)"""
        merged = dict(self._directory_topics)
        merged.update({a: tuple(k) for a, k in cfg.topics.items()})
        return {a: k for a, k in merged.items() if k}

    def _view(self, state: RoomState, now: float, cfg: ConversationSettings) -> RoomView:
        record = self._modes.get(state.room.key)
        mode = Mode(record.mode) if record else Mode(cfg.default_mode)
        set_by = record.set_by if record else "default"
        human_override = (
            record is not None
            and record.set_by not in (MODERATOR, "default")
            and now - record.set_at < cfg.human_override_seconds
        )
        return RoomView(
            now=now,
            mode=mode,
            mode_set_by=set_by,
            mode_signal=record.signal if record and record.set_by == MODERATOR else "",
            turns=tuple(state.turns),
            last_activity=state.last_activity,
            toxicity=dict(state.toxicity),
            trends=tuple(state.trends),
            open_questions=tuple(state.open_questions.values()),
            present_agents=frozenset(state.present),
            topics=self._topics(cfg),
            action_items=tuple(state.action_items),
            human_override=human_override,
            styled_agents=frozenset(
                agent
                for agent, style in self._styles.get(state.room.key, {}).items()
                if style.set_by == MODERATOR and (style.style not in (None, "normal") or style.max_per_minute)
            ),
        )

    # --- listeners --------------------------------------------------------------------------------------------------

    def _ignore_reason(self, event: MessageCreated) -> str | None:
        if event.author.kind is ActorKind.SYSTEM:
            return "steward_notice"
        state = self.states.get(event.room.key)
        if state is not None and state.is_own_notice(event.text):
            return "own_notice_echo"
        if event.author.kind is ActorKind.BOT:
            return "other_bot"
        return None

    @listener(MessageCreated)
    async def on_message(self, event: MessageCreated) -> None:
        reason = self._ignore_reason(event)
        if reason is not None:
            self.m_ignored.labels(reason).inc()
            return
        cfg = self._cfg(event.room)
        is_agent = event.author.kind is ActorKind.AGENT
        await self._refresh_agents()
        if is_agent and event.author.id not in self._agents:
            record = await self.ctx.agents.get(event.author.id)  # registered since the last refresh
            if record is not None:
                self._agents[record.name] = _agent_name(record)
        state = self._state(event.room, event.at)
        async with state.lock:
            # Time passed since the last message: an idle stretch or a question left hanging shows now.
            await self._time_signals(state, event.at, cfg)
            features = extract_features(
                event.text,
                agents=[a for n, a in self._agents.items() if n != event.author.id],
                mentions=event.mentions,
                topics=self._topics(cfg),
                action_patterns=self._compiled(cfg),
            )
            turn = Turn(
                at=event.at,
                message_id=event.message_id,
                author=event.author.id,
                author_kind=AuthorKind.AGENT if is_agent else AuthorKind.HUMAN,
                reply_to=event.reply_to,
                reply_to_author=event.reply_to_author.id if event.reply_to_author else None,
                features=features,
            )
            state.add_turn(turn)
            replied = event.reply_to_author
            if replied is not None and replied.kind is ActorKind.AGENT and replied.id != event.author.id:
                state.addressed[replied.id] = event.at  # a reply to an agent's message older than the window
            if cfg.auto_actions:
                view = self._view(state, event.at, cfg)
                await self._act(state, detect_signals(view, cfg.thresholds(), turn=turn), view, cfg, event.at)
            state.messages_since_llm += 1
        if cfg.llm.enabled and cfg.auto_actions and state.messages_since_llm >= cfg.llm.every_messages:
            self._spawn_llm(state)

    @listener(MessageScored)
    async def on_scored(self, event: MessageScored) -> None:
        if event.author.kind is ActorKind.SYSTEM or not event.scores:
            return
        state = self.states.get(event.room.key)
        if state is None:
            return
        try:
            raw = event.scores["toxicity"] if "toxicity" in event.scores else max(event.scores.values())
            value = float(raw)
        except (TypeError, ValueError):
            value = math.nan
        if not 0.0 <= value <= 1.0:  # also NaN
            self.ctx.metrics.rejected_input.labels("conversation_scores", "not_a_probability").inc()
            self.ctx.log.warning("conversation_scores_rejected", room=event.room.key, message_id=event.message_id)
            return
        cfg = self._cfg(event.room)
        async with state.lock:
            state.record_toxicity(event.message_id, value)
            if cfg.auto_actions:
                now = max(event.at, state.last_activity)
                view = self._view(state, now, cfg)
                await self._act(state, detect_signals(view, cfg.thresholds()), view, cfg, now)

    @listener(TrendShifted)
    async def on_trend(self, event: TrendShifted) -> None:
        state = self.states.get(event.room.key)
        if state is None:
            return
        cfg = self._cfg(event.room)
        async with state.lock:
            state.trends.append(Trend(event.at, event.metric, event.before, event.after))
            if cfg.auto_actions:
                now = max(event.at, state.last_activity)
                view = self._view(state, now, cfg)
                await self._act(state, detect_signals(view, cfg.thresholds()), view, cfg, now)

    @listener(MessageDeleted)
    async def on_deleted(self, event: MessageDeleted) -> None:
        state = self.states.get(event.room.key)
        if state is None:
            return
        async with state.lock:
            if state.remove(event.message_id):
                self.ctx.log.debug("conversation_turn_forgotten", room=event.room.key, message_id=event.message_id)

    @listener(AgentJoined)
    async def on_agent_joined(self, event: AgentJoined) -> None:
        self._state(event.room, event.at).present.add(event.agent)

    @listener(AgentLeft)
    async def on_agent_left(self, event: AgentLeft) -> None:
        state = self.states.get(event.room.key)
        if state is not None:
            state.present.discard(event.agent)
            state.addressed.pop(event.agent, None)

    # --- the sweep: idle stretches, unanswered questions, eviction ---------------------------------------------------

    async def sweep(self) -> None:
        now = self.ctx.clock.now()
        await self._refresh_agents()
        for key, state in list(self.states.items()):
            cfg = self._cfg(state.room)
            try:
                async with state.lock:
                    await self._time_signals(state, now, cfg)
            except Exception as exc:  # one room's failure must not stop the sweep of the others
                self.ctx.log.exception("conversation_sweep_failed", room=key, error=repr(exc))
            if now - state.last_activity >= cfg.evict_after_seconds and not state.lock.locked():
                self.states.pop(key, None)
                self.ctx.log.info("conversation_room_evicted", room=key, idle_seconds=round(now - state.last_activity))
        self.m_rooms.set(len(self.states))

    async def _time_signals(self, state: RoomState, now: float, cfg: ConversationSettings) -> None:
        if not cfg.auto_actions:
            return
        view = self._view(state, now, cfg)
        th = cfg.thresholds()
        signals = question_signals(view, th)
        idle = idle_signal(view, th)
        if idle is not None:
            signals.append(idle)
        if signals:
            await self._act(state, signals, view, cfg, now)
        if idle is not None:
            # The stretch is over for the rules: what was raised before it does not carry into the next one.
            state.action_items.clear()

    # --- acting -----------------------------------------------------------------------------------------------------

    async def _act(
        self, state: RoomState, signals: Sequence[Signal], view: RoomView, cfg: ConversationSettings, now: float
    ) -> None:
        present_keys = {s.key for s in signals if s.kind in DEBOUNCED_SIGNALS}
        state.reset_streaks(present_keys)
        ready: list[Signal] = []
        for signal in signals:
            if signal.kind in ONE_SHOT_SIGNALS and signal.key in state.handled:
                continue
            self.m_signals.labels(signal.kind.value).inc()
            if signal.kind in DEBOUNCED_SIGNALS:
                streak = state.bump_streak(signal.key)
                if not debounced(streak, cfg.debounce_evaluations):
                    self.m_suppressed.labels("any", "debounce").inc()
                    continue
            ready.append(signal)
        mode_not_set: set[str] = set()
        for proposal in propose(ready, view, cfg.thresholds()):
            if isinstance(proposal.action, ScheduleCommandProposal) and proposal.signal.key in mode_not_set:
                continue  # the revert belongs to a mode switch that did not happen
            done = await self.execute(state.room, proposal.action, proposal.signal, now=now)
            if not done and isinstance(proposal.action, SetModeProposal):
                mode_not_set.add(proposal.signal.key)
            if done and proposal.signal.kind in ONE_SHOT_SIGNALS:
                state.handled.add(proposal.signal.key)
            if done and proposal.signal.kind is SignalKind.UNRESOLVED_QUESTION:
                state.open_questions.pop(proposal.signal.subject, None)  # pointed out once; no longer tracked
        for signal in ready:
            if signal.kind is SignalKind.ACTION_ITEM:
                state.handled.add(signal.key)  # one notice per message at most, even when the cooldown held it
        if len(state.handled) > 500:
            state.handled.clear()

    def _cooldown_key(self, action: Any, signal: Signal) -> str:
        if isinstance(action, (SetAgentStyleProposal, AddParticipantProposal, RemoveParticipantProposal)):
            return f"{action.kind}:{action.agent}"
        if isinstance(action, PostMessageProposal):
            return f"{action.kind}:{signal.kind}"
        return action.kind

    async def execute(
        self,
        room: Room,
        action: Any,
        signal: Signal,
        *,
        now: float,
        source: str = MODERATOR,
    ) -> bool:
        """Check, do, audit and announce one action of the moderator; return whether it was done."""
        cfg = self._cfg(room)
        state = self._state(room, now)
        kind = action.kind
        problem = await self._invalid(action, cfg)
        if problem is not None:
            self.m_suppressed.labels(kind, "invalid").inc()
            self.ctx.log.warning("conversation_action_invalid", room=room.key, action=kind, problem=problem)
            if signal.kind is SignalKind.LLM:
                self.m_llm_rejected.labels("invalid_target").inc()
            return False
        current = self.mode_of(room)
        if isinstance(action, SetModeProposal):
            if action.mode is current:
                self.m_suppressed.labels(kind, "no_change").inc()
                return False
            view = self._view(state, now, cfg)
            if view.human_override:
                self.m_suppressed.labels(kind, "human_override").inc()
                self.ctx.log.info("conversation_mode_left_to_human", room=room.key, proposed=action.mode.value)
                return False
        cooldown_key = self._cooldown_key(action, signal)
        stricter = isinstance(action, SetModeProposal) and STRICTNESS[action.mode] > STRICTNESS[current]
        cooldown = cfg.invite_cooldown_seconds if isinstance(action, AddParticipantProposal) else cfg.cooldown_seconds
        if not stricter and not cooled_down(state.last_action.get(cooldown_key), now, cooldown):
            self.m_suppressed.labels(kind, "cooldown").inc()
            self.ctx.log.info("conversation_action_cooling_down", room=room.key, action=kind, signal=signal.kind.value)
            return False
        state.last_action[cooldown_key] = now
        params = action.model_dump(mode="json", exclude={"reason"})
        if isinstance(action, PostMessageProposal) and not self.ctx.settings.database.store_message_text:
            params["text"] = None
            params["text_hash"] = text_hash(action.text)
        audit_id = await self.store.audit(
            at=now,
            room=room.key,
            actor=MODERATOR,
            source=MODERATOR,
            action=kind,
            params=params,
            signal=signal.kind.value,
            evidence=dict(signal.evidence),
            reason=action.reason,
        )
        try:
            notice = await self._perform(room, action, signal, now=now, audit_id=audit_id, cfg=cfg)
        except Exception as exc:
            self.ctx.log.exception("conversation_action_failed", room=room.key, action=kind, error=repr(exc))
            await self.store.finish_audit(audit_id, outcome=f"failed: {type(exc).__name__}", notice_message_id=None)
            self.m_actions.labels(kind, signal.kind.value if signal.kind is SignalKind.LLM else "rules", "failed").inc()
            return False
        message_id = await self._announce(room, notice)
        await self.store.finish_audit(audit_id, outcome="done", notice_message_id=message_id)
        self.m_actions.labels(kind, "llm" if signal.kind is SignalKind.LLM else "rules", "done").inc()
        self.ctx.log.info(
            "conversation_action_taken",
            room=room.key,
            action=kind,
            signal=signal.kind.value,
            reason=action.reason,
            audit_id=audit_id,
        )
        return True

    async def _invalid(self, action: Any, cfg: ConversationSettings) -> str | None:
        if isinstance(action, (SetAgentStyleProposal, AddParticipantProposal, RemoveParticipantProposal)):
            if action.agent not in self._agents and await self.ctx.agents.get(action.agent) is None:
                return f"no agent named {action.agent!r} is registered"
        if isinstance(action, ScheduleCommandProposal):
            try:
                inv = CommandInvocation.parse(action.command, actor=MODERATOR_ACTOR, room=None)
            except CommandError as exc:
                return str(exc)
            if inv.name not in cfg.schedulable_commands:
                return f"the moderator may not schedule '{inv.name}' (schedulable: {cfg.schedulable_commands})"
            if self.ctx.app.commands.get(inv.name) is None:
                return f"there is no command '{inv.name}'"
        if isinstance(action, SetAgentStyleProposal) and action.style is None and action.max_per_minute is None:
            return "set_agent_style needs a style or a max_per_minute"
        return None

    async def _perform(
        self, room: Room, action: Any, signal: Signal, *, now: float, audit_id: int, cfg: ConversationSettings
    ) -> str:
        because = action.reason.rstrip(".")
        if isinstance(action, SetModeProposal):
            await self._set_mode(room, action.mode, set_by=MODERATOR, signal=signal.kind.value, reason=because, at=now)
            return f"Steward switched this channel to {action.mode} mode because {because}. " + _effect(action.mode)
        if isinstance(action, SetAgentStyleProposal):
            record = await self.store.set_agent_style(
                room.key,
                action.agent,
                style=action.style.value if action.style else None,
                max_per_minute=action.max_per_minute,
                set_by=MODERATOR,
                reason=because,
                at=now,
            )
            self._styles.setdefault(room.key, {})[action.agent] = record
            style = action.style.value if action.style else None
            parts = _style_changes(action.agent, style, action.max_per_minute, cfg.brief_max_chars)
            return f"Steward {parts} in this channel because {because}."
        if isinstance(action, AddParticipantProposal):
            await self.ctx.bus.publish(
                InvitationRequested(at=now, agent=action.agent, room=room, inviter=MODERATOR_ACTOR, reason=because)
            )
            return f"Steward asked for {action.agent} to join this channel (its owner decides) because {because}."
        if isinstance(action, RemoveParticipantProposal):
            await self.ctx.bus.publish(
                AgentRemovalRequested(
                    at=now, agent=action.agent, room=room, reason=because, requested_by=MODERATOR_ACTOR
                )
            )
            return f"Steward asked for {action.agent} to leave this channel because {because}."
        if isinstance(action, ScheduleCommandProposal):
            due = now + action.delay_seconds
            await self.ctx.scheduler.schedule_at(
                COMMAND_TIMER,
                f"{room.key}#{audit_id}",
                due,
                {
                    "room": room.key,
                    "command": action.command,
                    "audit_id": audit_id,
                    "scheduled_at": now,
                    "reason": because,
                },
            )
            return f"Steward scheduled `{action.command}` to run here in {_in(action.delay_seconds)} because {because}."
        if isinstance(action, PostMessageProposal):
            return f"{_sentence(action.text)[:-1]}, because {because}."
        raise TypeError(f"unknown action {type(action).__name__}")

    async def _set_mode(self, room: Room, mode: Mode, *, set_by: str, signal: str, reason: str, at: float) -> None:
        await self.store.set_mode(room.key, mode.value, set_by=set_by, signal=signal, reason=reason, at=at)
        self._modes[room.key] = RoomModeRecord(room.key, mode.value, set_by, signal, reason, at)
        state = self.states.get(room.key)
        if state is not None:
            state.streaks.clear()

    async def _announce(self, room: Room, text: str) -> str | None:
        state = self._state(room, self.ctx.clock.now())
        state.own_notices.append(text.strip())
        result = await self.ctx.router.perform(SendMessage(room=room, text=text, system=True))
        if not result.ok:
            self.ctx.log.warning("conversation_notice_failed", room=room.key, error=result.error)
            return None
        return result.message_id

    # --- scheduled commands -----------------------------------------------------------------------------------------

    async def _run_scheduled_command(self, key: str, payload: Any) -> None:
        try:
            room = Room.parse(str(payload["room"]))
            line = str(payload["command"])
        except (KeyError, ValueError) as exc:
            self.ctx.metrics.rejected_input.labels("conversation_timer", "bad_payload").inc()
            self.ctx.log.error("conversation_scheduled_command_unreadable", key=key, error=repr(exc))
            return
        try:
            inv = CommandInvocation.parse(line, actor=MODERATOR_ACTOR, room=room, is_admin=True)
        except CommandError as exc:
            self.ctx.log.error("conversation_scheduled_command_unparsable", key=key, command=line, error=str(exc))
            return
        if inv.name not in self._cfg(room).schedulable_commands:
            self.ctx.log.warning("conversation_scheduled_command_not_allowed", key=key, command=inv.name)
            await self._announce(room, f"Steward did not run the scheduled `{line}`: it is no longer allowed here.")
            return
        token = _SCHEDULED.set(dict(payload))
        try:
            reply = await self.ctx.app.commands.invoke(inv)
        finally:
            _SCHEDULED.reset(token)
        self.ctx.log.info("conversation_scheduled_command_ran", room=room.key, command=line, ok=reply.ok)
        if not reply.ok:
            await self._announce(room, f"Steward could not run the scheduled `{line}`: {reply.text}")
        elif reply.text and not reply.actions:
            if inv.name != "mode":
                await self._announce(room, f"Scheduled `{line}`: {reply.text}")

    # --- the LLM policy ---------------------------------------------------------------------------------------------

    def _llm_for(self, cfg: ConversationSettings) -> LlmPolicy:
        key = f"{cfg.llm.base_url}|{cfg.llm.model}"
        policy = self._llm.get(key)
        if policy is None:
            policy = self._llm[key] = LlmPolicy(cfg.llm, self.ctx.metrics)
        return policy

    def _spawn_llm(self, state: RoomState) -> None:
        if state.llm_running:
            return
        state.llm_running = True
        state.messages_since_llm = 0
        task = asyncio.create_task(self._llm_task(state.room), name=f"conversation-llm-{state.room.key}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _llm_task(self, room: Room) -> None:
        try:
            await self.consult_llm(room)
        except Exception as exc:
            self.ctx.log.exception("conversation_llm_failed", room=room.key, error=repr(exc))
        finally:
            state = self.states.get(room.key)
            if state is not None:
                state.llm_running = False

    def features(self, state: RoomState, now: float, cfg: ConversationSettings) -> dict[str, Any]:
        """What the LLM policy is told about a room: counts, shares, scores and signals; never message text."""
        view = self._view(state, now, cfg)
        turns = list(view.turns)
        speakers: dict[str, dict[str, Any]] = {}
        for t in turns:
            entry = speakers.setdefault(t.author, {"kind": t.author_kind.value, "messages": 0, "max_toxicity": 0.0})
            entry["messages"] += 1
            entry["max_toxicity"] = max(entry["max_toxicity"], view.toxicity.get(t.message_id, 0.0))
        th = cfg.thresholds()
        return {
            "mode": view.mode.value,
            "mode_set_by": view.mode_set_by,
            "human_override": view.human_override,
            "messages_in_window": len(turns),
            "agent_share": round(agent_share(turns), 3),
            "seconds_since_last_message": round(now - view.last_activity, 1),
            "speakers": speakers,
            "open_questions": [{"asker": q.asker, "age_seconds": round(now - q.at, 1)} for q in view.open_questions],
            "action_items_raised": len(view.action_items),
            "agents_present": sorted(view.present_agents),
            "agents_registered": sorted(self._agents),
            "agent_topics": {a: list(k) for a, k in view.topics.items()},
            "signals": [{"kind": s.kind.value, "because": s.because} for s in detect_signals(view, th)],
            "schedulable_commands": list(cfg.schedulable_commands),
        }

    async def consult_llm(self, room: Room) -> int:
        """Ask the LLM policy about ``room`` now; do what it validly proposes. Return how many actions were done."""
        cfg = self._cfg(room)
        if not cfg.llm.enabled:
            return 0
        state = self._state(room, self.ctx.clock.now())
        now = max(self.ctx.clock.now(), state.last_activity)
        features = self.features(state, now, cfg)
        try:
            answer = await self._llm_for(cfg).ask(features)
        except ProposalRejected as exc:
            self.m_llm_rejected.labels(exc.reason).inc()
            self.ctx.log.warning(
                "conversation_llm_answer_rejected", room=room.key, reason=exc.reason, detail=exc.detail
            )
            return 0
        for reason, detail in answer.rejected:
            self.m_llm_rejected.labels(reason).inc()
            self.ctx.log.warning("conversation_llm_proposal_rejected", room=room.key, reason=reason, detail=detail)
        done = 0
        async with state.lock:
            for action in answer.valid:
                signal = Signal(SignalKind.LLM, action.reason, subject=action.kind)
                self.m_signals.labels(SignalKind.LLM.value).inc()
                if await self.execute(room, action, signal, now=now):
                    done += 1
        return done

    # --- commands ---------------------------------------------------------------------------------------------------

    @command(
        "mode",
        "show or set this channel's conversation mode (open, focused, review, quiet)",
        usage="[open|focused|review|quiet] [reason]",
        options=[("mode", "open, focused, review or quiet"), ("reason", "why, shown to the channel")],
    )
    async def mode_command(self, inv: CommandInvocation) -> CommandReply | str:
        if inv.room is None:
            raise CommandError("run this in a channel")
        room = inv.room
        now = self.ctx.clock.now()
        current = self.mode_of(room)
        record = self._modes.get(room.key)
        if not inv.args:
            if record is None:
                return f"This channel is in {current} mode (the default)."
            who = "Steward" if record.set_by == MODERATOR else record.set_by
            why = f" because {record.reason}" if record.reason else ""
            return f"This channel is in {current} mode, set by {who} {_ago(now - record.set_at)}{why}."
        try:
            mode = Mode(inv.args[0].lower())
        except ValueError:
            raise CommandError(f"unknown mode {inv.args[0]!r}; choose open, focused, review or quiet") from None
        by_moderator = inv.actor.kind is ActorKind.SYSTEM and inv.actor.id == MODERATOR
        if by_moderator:
            return await self._scheduled_mode(room, mode, now)
        if not inv.is_admin:
            raise CommandError("only server admins can change the mode")
        if mode is current and record is not None:
            return f"This channel is already in {mode} mode."
        reason = " ".join(inv.args[1:])
        await self._set_mode(room, mode, set_by=inv.actor.id, signal="", reason=reason, at=now)
        audit_id = await self.store.audit(
            at=now,
            room=room.key,
            actor=inv.actor.id,
            source="command",
            action="set_mode",
            params={"mode": mode.value, "previous": current.value},
            reason=reason,
        )
        who = inv.actor.display_name or inv.actor.id
        because = f" because {reason.rstrip('.')}" if reason else ""
        notice = f"{who} switched this channel to {mode} mode{because}. " + _effect(mode)
        message_id = await self._announce(room, notice)
        await self.store.finish_audit(audit_id, outcome="done", notice_message_id=message_id)
        self.m_actions.labels("set_mode", "command", "done").inc()
        self.ctx.log.info("conversation_mode_set_by_command", room=room.key, mode=mode.value, actor=inv.actor.id)
        return f"Mode set to {mode}."

    async def _scheduled_mode(self, room: Room, mode: Mode, now: float) -> CommandReply:
        """The moderator's own scheduled ``mode`` command: an action like any other, audited and announced."""
        state = self._state(room, now)
        record = self._modes.get(room.key)
        if record is not None and record.set_by != MODERATOR:
            self.m_suppressed.labels("set_mode", "human_override").inc()
            return CommandReply(f"left the mode as {record.set_by} set it", ok=True)
        if self.mode_of(room) is mode:
            return CommandReply("", ok=True)
        scheduled = _SCHEDULED.get() or {}
        why = str(scheduled.get("reason") or "it was scheduled")
        at = scheduled.get("scheduled_at")
        reason = f"{why} (scheduled {_ago(now - float(at))})" if isinstance(at, (int, float)) else why
        action = SetModeProposal(mode=mode, reason=reason)
        signal = Signal(SignalKind.SCHEDULED, reason, subject="mode")
        # A scheduled command was decided when it was scheduled: the cooldown does not hold it back again.
        state.last_action.pop("set_mode", None)
        done = await self.execute(room, action, signal, now=now)
        return CommandReply("mode changed" if done else "", ok=True)

    @command(
        "agentstyle",
        "show or set an agent's reply style (normal, brief) and rate (messages a minute, 0 lifts it) here",
        usage="<agent> [normal|brief] [rate]",
        options=[
            ("agent", "the agent's name"),
            ("style", "normal or brief"),
            ("rate", "messages a minute, 0 = no limit"),
        ],
    )
    async def agentstyle_command(self, inv: CommandInvocation) -> str:
        if inv.room is None:
            raise CommandError("run this in a channel")
        if not inv.args:
            raise CommandError("name an agent")
        room, agent = inv.room, inv.args[0]
        if await self.ctx.agents.get(agent) is None:
            raise CommandError(f"no agent named {agent!r} is registered")
        cfg = self._cfg(room)
        now = self.ctx.clock.now()
        if len(inv.args) == 1:
            current = self.agent_style(room.key, agent)
            if current is None or (current.style in (None, "normal") and not current.max_per_minute):
                return f"{agent} has no style or rate limit in this channel."
            limits = []
            if current.style == AgentStyle.BRIEF:
                limits.append(f"brief replies (at most {cfg.brief_max_chars} characters)")
            if current.max_per_minute:
                limits.append(f"at most {current.max_per_minute} message(s) a minute")
            who = "Steward" if current.set_by == MODERATOR else current.set_by
            why = f" because {current.reason}" if current.reason else ""
            return f"{agent} in this channel: {', '.join(limits)}; set by {who} {_ago(now - current.set_at)}{why}."
        if not inv.is_admin:
            raise CommandError("only server admins can change an agent's style")
        style: str | None = None
        rate: int | None = None
        for arg in inv.args[1:]:
            if arg.lower() in (AgentStyle.NORMAL, AgentStyle.BRIEF):
                style = arg.lower()
            elif arg.isdigit() and int(arg) <= 60:
                rate = int(arg)
            else:
                raise CommandError(f"{arg!r} is neither a style (normal, brief) nor a rate from 0 to 60")
        record = await self.store.set_agent_style(
            room.key, agent, style=style, max_per_minute=rate, set_by=inv.actor.id, reason="", at=now
        )
        self._styles.setdefault(room.key, {})[agent] = record
        audit_id = await self.store.audit(
            at=now,
            room=room.key,
            actor=inv.actor.id,
            source="command",
            action="set_agent_style",
            params={"agent": agent, "style": style, "max_per_minute": rate},
        )
        who = inv.actor.display_name or inv.actor.id
        message_id = await self._announce(
            room, f"{who} {_style_changes(agent, style, rate, cfg.brief_max_chars)} in this channel."
        )
        await self.store.finish_audit(audit_id, outcome="done", notice_message_id=message_id)
        self.m_actions.labels("set_agent_style", "command", "done").inc()
        return f"Style of {agent} updated."

    @command(
        "audit",
        "show the conversation moderator's recent actions in this channel",
        usage="[moderator|command] [count]",
        options=[("source", "moderator or command"), ("count", "how many entries (at most 50)")],
    )
    async def audit_command(self, inv: CommandInvocation) -> str:
        if inv.room is None:
            raise CommandError("run this in a channel")
        source: str | None = None
        limit = 10
        for arg in inv.args:
            if arg in ("moderator", "command"):
                source = arg
            elif arg.isdigit() and 1 <= int(arg) <= 50:
                limit = int(arg)
            else:
                raise CommandError(f"{arg!r} is neither moderator/command nor a count from 1 to 50")
        entries = await self.store.audit_entries(inv.room.key, source=source, limit=limit)
        if not entries:
            return "No conversation actions recorded in this channel yet."
        now = self.ctx.clock.now()
        lines = []
        for e in entries:
            details = ", ".join(
                f"{k}={str(v)[:12] if k == 'text_hash' else v}"
                for k, v in e.params.items()
                if v is not None and k != "kind"
            )
            signal = f" on {e.signal}" if e.signal else ""
            why = f" because {e.reason}" if e.reason else ""
            lines.append(
                f"#{e.id} {_ago(now - e.at)}: {e.actor} ({e.source}) {e.action} {details}{signal}{why} [{e.outcome}]"
            )
        return "\n".join(lines)


def _style_changes(agent: str, style: str | None, rate: int | None, brief_max_chars: int) -> str:
    """What a style change does, in words: "asked helper to keep its replies brief ... and limited helper to ..."."""
    parts = []
    if style is not None:
        parts.append(
            f"asked {agent} to keep its replies brief (at most {brief_max_chars} characters)"
            if style == AgentStyle.BRIEF
            else f"set {agent}'s reply style back to normal"
        )
    if rate is not None:
        parts.append(f"limited {agent} to {rate} message(s) a minute" if rate else f"lifted {agent}'s rate limit")
    return " and ".join(parts)


def _agent_name(record: AgentRecord) -> AgentName:
    return AgentName(record.name, tuple(a for a in (record.display_name, record.platform_user_id or "") if a))


def _effect(mode: Mode) -> str:
    return MODE_EFFECT[mode]
