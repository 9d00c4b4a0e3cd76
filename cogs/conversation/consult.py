"""Consulting the optional LLM policy: what it is told about a room (features, never message text), when it is
asked (every ``llm.every_messages`` messages, in the background), and doing what it validly proposes through the
same executor as the rules' proposals.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from cogs.conversation.config import ConversationSettings
from cogs.conversation.executor import ActionExecutor
from cogs.conversation.llm import LlmPolicy, ProposalRejected
from cogs.conversation.metrics import ConversationMetrics
from cogs.conversation.rooms import Rooms
from cogs.conversation.state import RoomState
from domain import Room
from policy.conversation import Signal, SignalKind, agent_share, detect_signals

if TYPE_CHECKING:
    from bot.cog import CogContext


class LlmConsultant:
    def __init__(self, ctx: CogContext, rooms: Rooms, executor: ActionExecutor, metrics: ConversationMetrics) -> None:
        self.ctx = ctx
        self.rooms = rooms
        self.executor = executor
        self.metrics = metrics
        self._policies: dict[str, LlmPolicy] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def _policy(self, cfg: ConversationSettings) -> LlmPolicy:
        key = f"{cfg.llm.base_url}|{cfg.llm.model}"
        policy = self._policies.get(key)
        if policy is None:
            policy = self._policies[key] = LlmPolicy(cfg.llm, self.ctx.metrics)
        return policy

    def due(self, state: RoomState, cfg: ConversationSettings) -> None:
        """After ``every_messages`` messages, consult in the background (one consultation at a time a room)."""
        if not (cfg.llm.enabled and cfg.auto_actions and state.messages_since_llm >= cfg.llm.every_messages):
            return
        if state.llm_running:
            return
        state.llm_running = True
        state.messages_since_llm = 0
        task = asyncio.create_task(self._run(state.room), name=f"conversation-llm-{state.room.key}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, room: Room) -> None:
        try:
            await self.consult(room)
        except Exception as exc:
            self.ctx.log.exception("conversation_llm_failed", room=room.key, error=repr(exc))
        finally:
            state = self.rooms.states.get(room.key)
            if state is not None:
                state.llm_running = False

    async def drain(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        for policy in self._policies.values():
            await policy.close()
        self._policies.clear()

    def features(self, state: RoomState, now: float, cfg: ConversationSettings) -> dict[str, Any]:
        """What the LLM policy is told about a room: counts, shares, scores and signals; never message text."""
        view = self.rooms.view(state, now, cfg)
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
            "agents_registered": sorted(self.rooms.agents),
            "agent_topics": {a: list(k) for a, k in view.topics.items()},
            "signals": [{"kind": s.kind.value, "because": s.because} for s in detect_signals(view, th)],
            "schedulable_commands": list(cfg.schedulable_commands),
        }

    async def consult(self, room: Room) -> int:
        """Ask the LLM policy about ``room`` now; do what it validly proposes. Return how many actions were done."""
        cfg = self.rooms.cfg(room)
        if not cfg.llm.enabled:
            return 0
        state = self.rooms.state(room, self.ctx.clock.now())
        now = max(self.ctx.clock.now(), state.last_activity)
        try:
            answer = await self._policy(cfg).ask(self.features(state, now, cfg))
        except ProposalRejected as exc:
            self.metrics.llm_rejected.labels(exc.reason).inc()
            self.ctx.log.warning(
                "conversation_llm_answer_rejected", room=room.key, reason=exc.reason, detail=exc.detail
            )
            return 0
        for reason, detail in answer.rejected:
            self.metrics.llm_rejected.labels(reason).inc()
            self.ctx.log.warning("conversation_llm_proposal_rejected", room=room.key, reason=reason, detail=detail)
        done = 0
        async with state.lock:
            for action in answer.valid:
                signal = Signal(SignalKind.LLM, action.reason, subject=action.kind)
                self.metrics.signals.labels(SignalKind.LLM.value).inc()
                if await self.executor.execute(room, action, signal, now=now):
                    done += 1
        return done
