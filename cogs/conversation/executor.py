"""From signals to done actions: debounce the signals, ask the rules (``policy.conversation.propose``) what to do,
and execute each proposal: check it (valid target, a change at all, human override, cooldown), store it in the
audit log *before* doing it, do it, announce it, and record the outcome.

Which check and which effect applies to an action is looked up by its type in the tables at the end of the
module, not found by a chain of ``isinstance`` tests.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from bot.commands import CommandError, CommandInvocation
from bot.events import AgentRemovalRequested, InvitationRequested
from cogs.conversation.config import ConversationSettings
from cogs.conversation.metrics import ConversationMetrics
from cogs.conversation.notices import Announcer, effect, sentence, style_changes, within
from cogs.conversation.rooms import Rooms
from cogs.conversation.scheduled import MODERATOR_ACTOR, ScheduledCommands
from cogs.conversation.state import RoomState
from domain import Room
from policy.conversation import (
    AddParticipantProposal,
    Mode,
    PostMessageProposal,
    RemoveParticipantProposal,
    RoomView,
    ScheduleCommandProposal,
    SetAgentStyleProposal,
    SetModeProposal,
    Signal,
    SignalKind,
    cooled_down,
    debounced,
    propose,
)
from storage.conversation import MODERATOR, ConversationStore
from storage.core import text_hash

if TYPE_CHECKING:
    from bot.cog import CogContext

DEBOUNCED_SIGNALS = frozenset({SignalKind.AGENT_DOMINANCE, SignalKind.AGENTS_BALANCED, SignalKind.AGENT_MONOPOLY})
ONE_SHOT_SIGNALS = frozenset({SignalKind.ACTION_ITEM, SignalKind.UNRESOLVED_QUESTION, SignalKind.IDLE})
STRICTNESS = {Mode.OPEN: 0, Mode.FOCUSED: 1, Mode.REVIEW: 2, Mode.QUIET: 3}
HANDLED_MEMORY = 500
AGENT_ACTIONS = (SetAgentStyleProposal, AddParticipantProposal, RemoveParticipantProposal)


def _source(signal: Signal) -> str:
    return "llm" if signal.kind is SignalKind.LLM else "rules"


def cooldown_key(action: Any, signal: Signal) -> str:
    """Cooldowns are per room and action kind; per agent for agent actions, per signal kind for posted messages."""
    if isinstance(action, AGENT_ACTIONS):
        return f"{action.kind}:{action.agent}"
    if isinstance(action, PostMessageProposal):
        return f"{action.kind}:{signal.kind}"
    return str(action.kind)


class ActionExecutor:
    def __init__(
        self,
        ctx: CogContext,
        rooms: Rooms,
        store: ConversationStore,
        announcer: Announcer,
        scheduled: ScheduledCommands,
        metrics: ConversationMetrics,
    ) -> None:
        self.ctx = ctx
        self.rooms = rooms
        self.store = store
        self.announcer = announcer
        self.scheduled = scheduled
        self.metrics = metrics

    # --- signals to proposals --------------------------------------------------------------------------------------

    def _ready(self, state: RoomState, signals: Sequence[Signal], cfg: ConversationSettings) -> list[Signal]:
        """The signals to act on: one-shot signals not yet handled, lasting ones once debounced."""
        state.reset_streaks({s.key for s in signals if s.kind in DEBOUNCED_SIGNALS})
        ready: list[Signal] = []
        for signal in signals:
            if signal.kind in ONE_SHOT_SIGNALS and signal.key in state.handled:
                continue
            self.metrics.signals.labels(signal.kind.value).inc()
            if signal.kind in DEBOUNCED_SIGNALS and not debounced(
                state.bump_streak(signal.key), cfg.debounce_evaluations
            ):
                self.metrics.suppressed.labels("any", "debounce").inc()
                continue
            ready.append(signal)
        return ready

    async def act(
        self, state: RoomState, signals: Sequence[Signal], view: RoomView, cfg: ConversationSettings, now: float
    ) -> None:
        ready = self._ready(state, signals, cfg)
        mode_not_set: set[str] = set()
        for proposal in propose(ready, view, cfg.thresholds()):
            action, signal = proposal.action, proposal.signal
            if isinstance(action, ScheduleCommandProposal) and signal.key in mode_not_set:
                continue  # the revert belongs to a mode switch that did not happen
            done = await self.execute(state.room, action, signal, now=now)
            if done:
                self._handled(state, signal)
            elif isinstance(action, SetModeProposal):
                mode_not_set.add(signal.key)
        for signal in ready:
            if signal.kind is SignalKind.ACTION_ITEM:
                state.mark_handled(signal.key)  # one notice per message at most, even when the cooldown held it
        if len(state.handled) > HANDLED_MEMORY:
            state.forget_handled()

    @staticmethod
    def _handled(state: RoomState, signal: Signal) -> None:
        if signal.kind in ONE_SHOT_SIGNALS:
            state.mark_handled(signal.key)
        if signal.kind is SignalKind.UNRESOLVED_QUESTION:
            state.open_questions.pop(signal.subject, None)  # pointed out once; no longer tracked

    # --- one action -------------------------------------------------------------------------------------------------

    async def execute(self, room: Room, action: Any, signal: Signal, *, now: float, source: str = MODERATOR) -> bool:
        """Check, do, audit and announce one action of the moderator; return whether it was done."""
        cfg = self.rooms.cfg(room)
        state = self.rooms.state(room, now)
        if not await self._allowed(room, state, action, signal, cfg, now):
            return False
        state.last_action[cooldown_key(action, signal)] = now
        audit_id = await self._audit(room, action, signal, now)
        try:
            notice = await self._perform(room, action, signal, now, audit_id, cfg)
        except Exception as exc:
            self.ctx.log.exception("conversation_action_failed", room=room.key, action=action.kind, error=repr(exc))
            await self.store.finish_audit(audit_id, outcome=f"failed: {type(exc).__name__}", notice_message_id=None)
            self.metrics.actions.labels(action.kind, _source(signal), "failed").inc()
            return False
        message_id = await self.announcer.announce(room, notice)
        await self.store.finish_audit(audit_id, outcome="done", notice_message_id=message_id)
        self.metrics.actions.labels(action.kind, _source(signal), "done").inc()
        self.ctx.log.info(
            "conversation_action_taken",
            room=room.key,
            action=action.kind,
            signal=signal.kind.value,
            reason=action.reason,
            audit_id=audit_id,
        )
        return True

    async def _allowed(
        self, room: Room, state: RoomState, action: Any, signal: Signal, cfg: ConversationSettings, now: float
    ) -> bool:
        """Whether the action may be done now; when not, the reason is counted (and logged)."""
        kind = action.kind
        problem = await self.invalid(action, cfg)
        if problem is not None:
            self.metrics.suppressed.labels(kind, "invalid").inc()
            self.ctx.log.warning("conversation_action_invalid", room=room.key, action=kind, problem=problem)
            if signal.kind is SignalKind.LLM:
                self.metrics.llm_rejected.labels("invalid_target").inc()
            return False
        current = self.rooms.mode_of(room)
        if isinstance(action, SetModeProposal) and not self._mode_may_change(room, state, action, current, cfg, now):
            return False
        stricter = isinstance(action, SetModeProposal) and STRICTNESS[action.mode] > STRICTNESS[current]
        cooldown = cfg.invite_cooldown_seconds if isinstance(action, AddParticipantProposal) else cfg.cooldown_seconds
        if not stricter and not cooled_down(state.last_action.get(cooldown_key(action, signal)), now, cooldown):
            self.metrics.suppressed.labels(kind, "cooldown").inc()
            self.ctx.log.info("conversation_action_cooling_down", room=room.key, action=kind, signal=signal.kind.value)
            return False
        return True

    def _mode_may_change(
        self,
        room: Room,
        state: RoomState,
        action: SetModeProposal,
        current: Mode,
        cfg: ConversationSettings,
        now: float,
    ) -> bool:
        if action.mode is current:
            self.metrics.suppressed.labels(action.kind, "no_change").inc()
            return False
        if self.rooms.view(state, now, cfg).human_override:
            self.metrics.suppressed.labels(action.kind, "human_override").inc()
            self.ctx.log.info("conversation_mode_left_to_human", room=room.key, proposed=action.mode.value)
            return False
        return True

    async def _audit(self, room: Room, action: Any, signal: Signal, now: float) -> int:
        params = action.model_dump(mode="json", exclude={"reason"})
        if isinstance(action, PostMessageProposal) and not self.ctx.settings.database.store_message_text:
            params["text"] = None
            params["text_hash"] = text_hash(action.text)
        audit_id: int = await self.store.audit(
            at=now,
            room=room.key,
            actor=MODERATOR,
            source=MODERATOR,
            action=action.kind,
            params=params,
            signal=signal.kind.value,
            evidence=dict(signal.evidence),
            reason=action.reason,
        )
        return audit_id

    async def invalid(self, action: Any, cfg: ConversationSettings) -> str | None:
        """What makes the action impossible (an unknown agent, a command the moderator may not schedule ...)."""
        check = VALIDATE.get(type(action))
        return None if check is None else await check(self, action, cfg)

    async def _unknown_agent(self, action: Any, cfg: ConversationSettings) -> str | None:
        if action.agent not in self.rooms.agents and await self.ctx.agents.get(action.agent) is None:
            return f"no agent named {action.agent!r} is registered"
        return None

    async def _style_problem(self, action: SetAgentStyleProposal, cfg: ConversationSettings) -> str | None:
        problem = await self._unknown_agent(action, cfg)
        if problem is None and action.style is None and action.max_per_minute is None:
            return "set_agent_style needs a style or a max_per_minute"
        return problem

    async def _schedule_problem(self, action: ScheduleCommandProposal, cfg: ConversationSettings) -> str | None:
        try:
            inv = CommandInvocation.parse(action.command, actor=MODERATOR_ACTOR, room=None)
        except CommandError as exc:
            return str(exc)
        if inv.name not in cfg.schedulable_commands:
            return f"the moderator may not schedule '{inv.name}' (schedulable: {cfg.schedulable_commands})"
        if self.ctx.commands.get(inv.name) is None:
            return f"there is no command '{inv.name}'"
        return None

    # --- what each action does; each returns the notice that announces it ------------------------------------------

    async def _perform(
        self, room: Room, action: Any, signal: Signal, now: float, audit_id: int, cfg: ConversationSettings
    ) -> str:
        perform = PERFORM.get(type(action))
        if perform is None:
            raise TypeError(f"unknown action {type(action).__name__}")
        return await perform(self, room, action, signal, now, audit_id, cfg)

    async def _set_mode(
        self, room: Room, action: SetModeProposal, signal: Signal, now: float, audit_id: int, cfg: ConversationSettings
    ) -> str:
        because = action.reason.rstrip(".")
        await self.rooms.set_mode(room, action.mode, set_by=MODERATOR, signal=signal.kind.value, reason=because, at=now)
        return f"Steward switched this channel to {action.mode} mode because {because}. " + effect(action.mode)

    async def _set_style(
        self,
        room: Room,
        action: SetAgentStyleProposal,
        signal: Signal,
        now: float,
        audit_id: int,
        cfg: ConversationSettings,
    ) -> str:
        because = action.reason.rstrip(".")
        style = action.style.value if action.style else None
        rate = action.max_per_minute
        await self.rooms.set_style(room, action.agent, style=style, rate=rate, set_by=MODERATOR, reason=because, at=now)
        changes = style_changes(action.agent, style, rate, cfg.brief_max_chars)
        return f"Steward {changes} in this channel because {because}."

    async def _add(
        self,
        room: Room,
        action: AddParticipantProposal,
        signal: Signal,
        now: float,
        audit_id: int,
        cfg: ConversationSettings,
    ) -> str:
        because = action.reason.rstrip(".")
        await self.ctx.bus.publish(
            InvitationRequested(at=now, agent=action.agent, room=room, inviter=MODERATOR_ACTOR, reason=because)
        )
        return f"Steward asked for {action.agent} to join this channel (its owner decides) because {because}."

    async def _remove(
        self,
        room: Room,
        action: RemoveParticipantProposal,
        signal: Signal,
        now: float,
        audit_id: int,
        cfg: ConversationSettings,
    ) -> str:
        because = action.reason.rstrip(".")
        await self.ctx.bus.publish(
            AgentRemovalRequested(at=now, agent=action.agent, room=room, reason=because, requested_by=MODERATOR_ACTOR)
        )
        return f"Steward asked for {action.agent} to leave this channel because {because}."

    async def _schedule(
        self,
        room: Room,
        action: ScheduleCommandProposal,
        signal: Signal,
        now: float,
        audit_id: int,
        cfg: ConversationSettings,
    ) -> str:
        because = action.reason.rstrip(".")
        due = now + action.delay_seconds
        await self.scheduled.schedule(room, action.command, due=due, now=now, audit_id=audit_id, reason=because)
        return f"Steward scheduled `{action.command}` to run here in {within(action.delay_seconds)} because {because}."

    async def _post(
        self,
        room: Room,
        action: PostMessageProposal,
        signal: Signal,
        now: float,
        audit_id: int,
        cfg: ConversationSettings,
    ) -> str:
        return f"{sentence(action.text)[:-1]}, because {action.reason.rstrip('.')}."


_Perform = Callable[[ActionExecutor, Room, Any, Signal, float, int, ConversationSettings], Awaitable[str]]
_Validate = Callable[[ActionExecutor, Any, ConversationSettings], Awaitable[str | None]]

PERFORM: Mapping[type, _Perform] = MappingProxyType(
    {
        SetModeProposal: ActionExecutor._set_mode,
        SetAgentStyleProposal: ActionExecutor._set_style,
        AddParticipantProposal: ActionExecutor._add,
        RemoveParticipantProposal: ActionExecutor._remove,
        ScheduleCommandProposal: ActionExecutor._schedule,
        PostMessageProposal: ActionExecutor._post,
    }
)
VALIDATE: Mapping[type, _Validate] = MappingProxyType(
    {
        SetAgentStyleProposal: ActionExecutor._style_problem,
        AddParticipantProposal: ActionExecutor._unknown_agent,
        RemoveParticipantProposal: ActionExecutor._unknown_agent,
        ScheduleCommandProposal: ActionExecutor._schedule_problem,
    }
)
