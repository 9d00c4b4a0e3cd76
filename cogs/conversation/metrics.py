"""The conversation moderator's Prometheus metrics, made once per cog and shared by its parts."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import Counter, Gauge

from bot.metrics import Metrics


@dataclass(frozen=True, slots=True)
class ConversationMetrics:
    signals: Counter
    actions: Counter
    suppressed: Counter
    ignored: Counter
    llm_rejected: Counter
    gate: Counter
    held: Counter
    rooms: Gauge

    @classmethod
    def register(cls, m: Metrics) -> ConversationMetrics:
        return cls(
            signals=m.counter("steward_conversation_signals_total", "Conversation signals detected", ["signal"]),
            actions=m.counter(
                "steward_conversation_actions_total", "Conversation actions taken", ["action", "source", "outcome"]
            ),
            suppressed=m.counter(
                "steward_conversation_suppressed_total",
                "Proposed actions not taken (debounce, cooldown, human override, no change)",
                ["action", "reason"],
            ),
            ignored=m.counter(
                "steward_conversation_ignored_total", "Messages the moderator did not read as conversation", ["reason"]
            ),
            llm_rejected=m.counter(
                "steward_conversation_llm_rejected_total", "LLM proposals rejected before anything was done", ["reason"]
            ),
            gate=m.counter(
                "steward_conversation_gate_rejections_total", "Agent messages the conversation rules rejected", ["rule"]
            ),
            held=m.counter("steward_conversation_review_holds_total", "Agent messages held for owner review"),
            rooms=m.gauge("steward_conversation_rooms", "Rooms with in-memory conversation state"),
        )
