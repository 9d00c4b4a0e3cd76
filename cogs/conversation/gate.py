"""How a room's conversation mode and an agent's style and rate reach the agent publisher.

``ConversationGate`` rejects, with a reason the agent can act on: in quiet mode; in focused mode when the agent was
not addressed (mentioned by name, or replied to) within ``addressed_window_seconds``; in review mode when no drafts
service is running to hold the message for its owner (fail closed: review mode promises that nothing is posted
unapproved); a message longer than ``brief_max_chars`` from an agent in brief style; an agent over its rate.

``ReviewHolder`` hands an approved message in review mode to the presence cog's ``drafts`` service, which asks the
agent's owner; the message is posted only when the owner approves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.publisher import AgentSubmission, Decision, Verdict
from policy.conversation import AgentStyle, Mode

if TYPE_CHECKING:
    from cogs.conversation.cog import ConversationCog

MODE_RULE = "conversation.mode"
STYLE_RULE = "conversation.style"
RATE_RULE = "conversation.rate"
DRAFTS_SERVICE = "drafts"


class ReviewUnavailable(RuntimeError):
    """Review mode with no drafts service to hold the message: it must not be posted unreviewed."""


def _why(cog: ConversationCog, room_key: str) -> str:
    record = cog.mode_record(room_key)
    if record is None:
        return ""
    who = "Steward" if record.set_by == "moderator" else record.set_by
    return f" (set by {who} because {record.reason})" if record.reason else f" (set by {who})"


class ConversationGate:
    def __init__(self, cog: ConversationCog) -> None:
        self.cog = cog

    async def evaluate(self, submission: AgentSubmission) -> Decision:
        room = submission.room
        agent = submission.agent.name
        cfg = self.cog.ctx.config(room)
        mode = self.cog.mode_of(room)
        if mode is Mode.QUIET:
            return self._reject(
                MODE_RULE, f"this channel is in quiet mode: agents are silent{_why(self.cog, room.key)}", submission
            )
        if mode is Mode.FOCUSED:
            state = self.cog.states.get(room.key)
            addressed = state is not None and state.was_addressed(agent, submission.at, cfg.addressed_window_seconds)
            if not addressed:
                return self._reject(
                    MODE_RULE,
                    f"this channel is in focused mode: agents speak only when addressed by name or replied to, "
                    f"and nobody addressed {agent} recently{_why(self.cog, room.key)}",
                    submission,
                )
        if mode is Mode.REVIEW and self.cog.ctx.service(DRAFTS_SERVICE) is None:
            return self._reject(
                MODE_RULE,
                "this channel is in review mode and no drafts service is running to ask the agent's owner, "
                "so the message is not posted",
                submission,
            )
        style = self.cog.agent_style(room.key, agent)
        if style is not None:
            if style.style == AgentStyle.BRIEF and len(submission.text) > cfg.brief_max_chars:
                return self._reject(
                    STYLE_RULE,
                    f"{agent} is asked to be brief in this channel: at most {cfg.brief_max_chars} characters, "
                    f"this message has {len(submission.text)}",
                    submission,
                )
            if style.max_per_minute:
                state = self.cog.states.get(room.key)
                recent = state.posts_in_last_minute(agent, submission.at) if state else 0
                if recent >= style.max_per_minute:
                    return self._reject(
                        RATE_RULE,
                        f"{agent} may post at most {style.max_per_minute} message(s) a minute in this channel "
                        f"and has posted {recent} in the last minute",
                        submission,
                    )
        return Decision.approve(submission.text, rule="pass", reason="no rule objected")

    def _reject(self, rule: str, reason: str, submission: AgentSubmission) -> Decision:
        self.cog.count_gate_rejection(rule)
        return Decision(Verdict.REJECT, rule, reason, submission.text)


class ReviewHolder:
    def __init__(self, cog: ConversationCog) -> None:
        self.cog = cog

    async def hold(self, submission: AgentSubmission, decision: Decision, decision_id: int) -> str | None:
        if self.cog.mode_of(submission.room) is not Mode.REVIEW:
            return None
        drafts = self.cog.ctx.service(DRAFTS_SERVICE)
        if drafts is None:
            # The gate rejects in this case; the mode changed between the gate and here. Fail closed.
            raise ReviewUnavailable(f"review mode in {submission.room.key} but no drafts service is running")
        draft_id = await drafts.hold_for_review(submission, decision, decision_id)
        self.cog.count_review_hold()
        return str(draft_id)
