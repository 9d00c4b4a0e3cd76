"""How a room's conversation mode and an agent's style and rate reach the agent publisher.

``ConversationGate`` rejects, with a reason the agent can act on: in quiet mode; in focused mode when the agent was
not addressed (mentioned by name, or replied to) within ``addressed_window_seconds``; in review mode when no drafts
service is running to hold the message for its owner (fail closed: review mode promises that nothing is posted
unapproved); a message longer than ``brief_max_chars`` from an agent in brief style; an agent over its rate (an
event-time token bucket of ``max_per_minute`` unprompted messages, refilled over a minute; an answer to a person
(``RoomState.person_answered``) spends a separate bucket of ``max_per_minute / reply_weight``).

``ReviewHolder`` hands an approved message in review mode to the presence cog's ``drafts`` service, which asks the
agent's owner; the message is posted only when the owner approves.
"""

from __future__ import annotations

import math
from typing import Any, Protocol

from bot.cog import CogContext
from bot.publisher import AgentSubmission, Decision, Verdict
from bot.services import DraftReview
from cogs.conversation.config import ConversationSettings
from cogs.conversation.notices import setter
from cogs.conversation.rooms import Rooms
from cogs.conversation.state import answers_limit
from domain import Room
from policy.conversation import AgentStyle, Mode


class ConversationCog(Protocol):
    """What the gate reads of the conversation cog (``cog.py``): rooms' modes, styles and state, and its counters."""

    ctx: CogContext[ConversationSettings]
    rooms: Rooms

    def mode_of(self, room: Room) -> Any: ...

    def count_gate_rejection(self, rule: str) -> None: ...

    def count_review_hold(self) -> None: ...


MODE_RULE = "conversation.mode"
STYLE_RULE = "conversation.style"
RATE_RULE = "conversation.rate"


class ReviewUnavailable(RuntimeError):
    """Review mode with no drafts service to hold the message: it must not be posted unreviewed."""


def drafts_service(cog: ConversationCog) -> Any:
    """The presence cog's drafts service (``hold_for_review``), or None when it is not running."""
    return cog.ctx.service(DraftReview)


def _why(cog: ConversationCog, room: Room) -> str:
    record = cog.rooms.modes.get(room.key)
    if record is None:
        return ""
    who = setter(room.platform, record.set_by)
    return f" (set by {who} because {record.reason})" if record.reason else f" (set by {who})"


def _mode(cog: ConversationCog, submission: AgentSubmission, cfg: ConversationSettings) -> tuple[str, str] | None:
    room = submission.room
    rooms = cog.rooms
    mode = rooms.mode_of(room)
    if mode is Mode.OPEN:
        return None
    agent = submission.agent.name
    if mode is Mode.QUIET:
        return MODE_RULE, f"this channel is in quiet mode: agents are silent{_why(cog, room)}"
    if mode is Mode.FOCUSED:
        state = rooms.states.get(room.key)
        if state is None or not state.was_addressed(agent, submission.at, cfg.addressed_window_seconds):
            return MODE_RULE, (
                f"this channel is in focused mode: agents speak only when addressed by name or replied to, "
                f"and nobody addressed {agent} recently{_why(cog, room)}"
            )
    if mode is Mode.REVIEW and drafts_service(cog) is None:
        return MODE_RULE, (
            "this channel is in review mode and no drafts service is running to ask the agent's owner, "
            "so the message is not posted"
        )
    return None


def _limits(cog: ConversationCog, submission: AgentSubmission, cfg: ConversationSettings) -> tuple[str, str] | None:
    """The agent's style here: a brief style caps the length, a rate spends a token bucket."""
    agent = submission.agent.name
    style = cog.rooms.agent_style(submission.room.key, agent)
    if style is None:
        return None
    length = len(submission.text)
    if style.style == AgentStyle.BRIEF and length > cfg.brief_max_chars:
        return STYLE_RULE, (
            f"{agent} is asked to be brief in this channel: at most {cfg.brief_max_chars} characters, "
            f"this message has {length}"
        )
    limit = style.max_per_minute
    state = cog.rooms.states.get(submission.room.key)
    if not limit or state is None:
        return None
    answers = state.person_answered(agent, submission.at, submission.reply_to, cfg.addressed_window_seconds)
    if answers is not None:
        limit = answers_limit(limit, cfg.reply_weight)
        if not limit:
            return None
    would = state.rate_take(agent, limit, submission.at, answers=answers is not None)
    if would.allowed:
        return None
    what = f"answer people at most {limit} time(s)" if answers is not None else f"post at most {limit} message(s)"
    return RATE_RULE, (
        f"{agent} may {what} a minute in this channel{'' if answers is not None else ' unprompted'} and has used "
        f"them up for now: the next can follow in {math.ceil(would.retry_after)} seconds"
    )


class ConversationGate:
    def __init__(self, cog: ConversationCog) -> None:
        self.cog = cog

    async def evaluate(self, submission: AgentSubmission) -> Decision:
        cfg = self.cog.ctx.config(submission.room)
        # The mode first: its objection is the one reported when both would object.
        objection = _mode(self.cog, submission, cfg) or _limits(self.cog, submission, cfg)
        if objection is not None:
            rule, reason = objection
            self.cog.count_gate_rejection(rule)
            return Decision(Verdict.REJECT, rule, reason, submission.text)
        return Decision.approve(submission.text, rule="pass", reason="no rule objected")


class ReviewHolder:
    def __init__(self, cog: ConversationCog) -> None:
        self.cog = cog

    async def hold(self, submission: AgentSubmission, decision: Decision, decision_id: int) -> str | None:
        if self.cog.mode_of(submission.room) is not Mode.REVIEW:
            return None
        drafts = drafts_service(self.cog)
        if drafts is None:
            # The gate rejects in this case; the mode changed between the gate and here. Fail closed.
            raise ReviewUnavailable(f"review mode in {submission.room.key} but no drafts service is running")
        draft_id = await drafts.hold_for_review(submission, decision, decision_id)
        self.cog.count_review_hold()
        return str(draft_id)
