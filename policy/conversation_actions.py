"""The conversation moderator's action schema: what the rules and an LLM policy may propose.

The actions are pydantic models, one discriminated union on ``kind`` (``ActionProposal``), so that whatever
proposes an action, it is validated the same way before anything is done. The room modes and agent styles the
actions set live here too, with the sentence that tells a room what a mode means.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


class Mode(enum.StrEnum):
    OPEN = "open"  # agents speak freely (their other gates still apply)
    FOCUSED = "focused"  # agents speak only when addressed: mentioned by name or replied to
    REVIEW = "review"  # agents' messages need their owner's approval before they are posted
    QUIET = "quiet"  # agents are silent


MODE_EFFECT: Mapping[Mode, str] = MappingProxyType(
    {
        Mode.OPEN: "Agents may speak freely again.",
        Mode.FOCUSED: "Agents now speak only when someone addresses them by name or replies to them.",
        Mode.REVIEW: "Agents' messages now need their owner's approval before they are posted.",
        Mode.QUIET: "Agents are silent here until the mode changes.",
    }
)


# --- the action schema (what rules and an LLM may propose) ----------------------------------------------------------


class _Proposal(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    reason: str = Field(min_length=1, max_length=300, description="why, in words shown to the room")


class SetModeProposal(_Proposal):
    kind: Literal["set_mode"] = "set_mode"
    mode: Mode


class AgentStyle(enum.StrEnum):
    NORMAL = "normal"
    BRIEF = "brief"  # short messages only (``brief_max_chars``)


class SetAgentStyleProposal(_Proposal):
    kind: Literal["set_agent_style"] = "set_agent_style"
    agent: str = Field(min_length=1, max_length=100)
    style: AgentStyle | None = None
    max_per_minute: int | None = Field(default=None, ge=0, le=60, description="0 lifts the limit")


class AddParticipantProposal(_Proposal):
    kind: Literal["add_participant"] = "add_participant"
    agent: str = Field(min_length=1, max_length=100)


class RemoveParticipantProposal(_Proposal):
    kind: Literal["remove_participant"] = "remove_participant"
    agent: str = Field(min_length=1, max_length=100)


class ScheduleCommandProposal(_Proposal):
    kind: Literal["schedule_command"] = "schedule_command"
    command: str = Field(min_length=1, max_length=200, description="a Steward command line, e.g. 'mode open'")
    delay_seconds: float = Field(ge=1, le=7 * 24 * 3600)


class PostMessageProposal(_Proposal):
    kind: Literal["post_message"] = "post_message"
    text: str = Field(min_length=1, max_length=500)


ActionProposal = Annotated[
    SetModeProposal
    | SetAgentStyleProposal
    | AddParticipantProposal
    | RemoveParticipantProposal
    | ScheduleCommandProposal
    | PostMessageProposal,
    Field(discriminator="kind"),
]
ACTION_ADAPTER: TypeAdapter[ActionProposal] = TypeAdapter(ActionProposal)


class ProposalBatch(BaseModel):
    """What an LLM policy must answer: ``{"actions": [...]}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    actions: list[ActionProposal] = Field(default_factory=list, max_length=10)


ActionKind = Literal[
    "set_mode", "set_agent_style", "add_participant", "remove_participant", "schedule_command", "post_message"
]
