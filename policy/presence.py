"""The invitation policy: may this agent come into this room, and who decides?

Pure: plain functions over plain data, no I/O and no clock. The coordinator in ``cogs/presence`` gathers the facts
(settings, presence, suspensions, recent invitations) and acts on the verdict; the database enforces the
exactly-one-outcome rules this module cannot see (concurrent invitations, clicks racing expiry).

Every branch is a row of a table so that tests can walk them all:

- ``POLICY_ALLOWS``: which inviter kinds each invitation policy admits.
- ``CHECKS``: the ordered checks an invitation goes through; the first that fires decides.
- ``REWARDS``: the feedback reward of each presence outcome.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass


class InvitationPolicy(enum.StrEnum):
    """Who may invite an agent (its owner always may)."""

    OWNER_ONLY = "owner_only"
    ANY_USER = "any_user"
    OTHER_AGENTS = "other_agents"
    USERS_AND_AGENTS = "users_and_agents"
    ANYONE = "anyone"  # users, agents, and the system (topic or sentiment triggers)


class ApprovalMode(enum.StrEnum):
    """Whether the owner is asked before the agent joins a room."""

    MANUAL = "manual"
    AUTO = "auto"


class MessageApproval(enum.StrEnum):
    """Whether the owner approves each of the agent's messages before it is posted."""

    NONE = "none"
    OWNER_EACH_DRAFT = "owner_each_draft"


class InviterKind(enum.StrEnum):
    OWNER = "owner"
    USER = "user"
    AGENT = "agent"
    SYSTEM = "system"


class Outcome(enum.StrEnum):
    AUTO_JOIN = "auto_join"
    ASK_OWNER = "ask_owner"
    DECLINE = "decline"
    DEFER = "defer"


POLICY_ALLOWS: dict[InvitationPolicy, frozenset[InviterKind]] = {
    InvitationPolicy.OWNER_ONLY: frozenset({InviterKind.OWNER}),
    InvitationPolicy.ANY_USER: frozenset({InviterKind.OWNER, InviterKind.USER}),
    InvitationPolicy.OTHER_AGENTS: frozenset({InviterKind.OWNER, InviterKind.AGENT}),
    InvitationPolicy.USERS_AND_AGENTS: frozenset({InviterKind.OWNER, InviterKind.USER, InviterKind.AGENT}),
    InvitationPolicy.ANYONE: frozenset(InviterKind),
}


def classify_inviter(
    *, actor_kind: str, actor_id: str, actor_platform: str, owner_id: str, agent_platform: str
) -> InviterKind:
    """The inviter's kind as the policy sees it. ``actor_kind`` is an ``ActorKind`` value."""
    if actor_kind == "system":
        return InviterKind.SYSTEM
    if actor_kind in ("agent", "bot"):
        return InviterKind.AGENT
    if actor_id == owner_id and actor_platform == agent_platform:
        return InviterKind.OWNER
    return InviterKind.USER


@dataclass(frozen=True, slots=True)
class InvitationFacts:
    """Everything the policy needs about one invitation, gathered by the coordinator at one instant ``now``."""

    now: float
    inviter_kind: InviterKind
    policy: InvitationPolicy
    approval_mode: ApprovalMode
    self_invite: bool = False  # the agent invited itself
    room_accepts_agents: bool = True
    suspended_until: float | None = None  # the end of the suspension covering this room, if any
    present_in_room: bool = False
    rooms_in_use: int = 0
    max_rooms: int = 5
    last_join_at: float | None = None
    join_cooldown: float = 0.0
    inviter_recent: int = 0  # invitations by this inviter inside the spam window, this one excluded
    inviter_limit: int = 5
    defer_on_cooldown: bool = True

    @property
    def suspended(self) -> bool:
        return self.suspended_until is not None and self.suspended_until > self.now

    @property
    def at_capacity(self) -> bool:
        return self.rooms_in_use >= self.max_rooms

    @property
    def cooldown_ends(self) -> float | None:
        if self.last_join_at is None or self.join_cooldown <= 0:
            return None
        ends = self.last_join_at + self.join_cooldown
        return ends if ends > self.now else None


@dataclass(frozen=True, slots=True)
class Verdict:
    outcome: Outcome
    rule: str
    reason: str
    retry_at: float | None = None  # for DEFER: when to look again

    @property
    def final(self) -> bool:
        return self.outcome in (Outcome.AUTO_JOIN, Outcome.DECLINE)


@dataclass(frozen=True, slots=True)
class Check:
    """One row of the invitation checks: if ``fires(facts)``, the verdict is ``verdict(facts)``.

    ``on_approval``: the check is run again when the owner approves (the world may have changed meanwhile);
    the inviter-side checks (policy, spam, cooldown) are not, because the owner's approval overrides them.
    """

    rule: str
    fires: Callable[[InvitationFacts], bool]
    verdict: Callable[[InvitationFacts], Verdict]
    on_approval: bool = False


def _decline(rule: str, reason: Callable[[InvitationFacts], str]) -> Callable[[InvitationFacts], Verdict]:
    return lambda f: Verdict(Outcome.DECLINE, rule, reason(f))


def _cooldown_verdict(f: InvitationFacts) -> Verdict:
    ends = f.cooldown_ends or f.now
    wait = max(0, round(ends - f.now))
    if f.defer_on_cooldown:
        return Verdict(Outcome.DEFER, "cooldown", f"the agent joined a room recently; retrying in {wait}s", ends)
    return Verdict(Outcome.DECLINE, "cooldown", f"the agent joined a room recently; try again in {wait}s")


CHECKS: tuple[Check, ...] = (
    Check("self_invite", lambda f: f.self_invite, _decline("self_invite", lambda f: "an agent cannot invite itself")),
    Check(
        "suspended",
        lambda f: f.suspended,
        _decline("suspended", lambda f: "the agent is suspended here"),
        on_approval=True,
    ),
    Check(
        "room_refuses_agents",
        lambda f: not f.room_accepts_agents,
        _decline("room_refuses_agents", lambda f: "this room does not accept agents"),
        on_approval=True,
    ),
    Check(
        "already_present",
        lambda f: f.present_in_room,
        _decline("already_present", lambda f: "the agent is already in this room"),
        on_approval=True,
    ),
    Check(
        "policy",
        lambda f: f.inviter_kind not in POLICY_ALLOWS[f.policy],
        _decline(
            "policy",
            lambda f: f"the agent's invitation policy is {f.policy.value}; a {f.inviter_kind} may not invite it",
        ),
    ),
    Check(
        "inviter_rate",
        lambda f: f.inviter_kind is not InviterKind.OWNER and f.inviter_recent >= f.inviter_limit,
        _decline("inviter_rate", lambda f: f"too many invitations from this inviter ({f.inviter_recent} recently)"),
    ),
    Check(
        "capacity",
        lambda f: f.at_capacity,
        _decline("capacity", lambda f: f"the agent is at capacity ({f.rooms_in_use}/{f.max_rooms} rooms)"),
        on_approval=True,
    ),
    Check("cooldown", lambda f: f.cooldown_ends is not None, _cooldown_verdict),
    Check(
        "owner_invited",
        lambda f: f.inviter_kind is InviterKind.OWNER,
        lambda f: Verdict(Outcome.AUTO_JOIN, "owner_invited", "invited by its owner"),
    ),
    Check(
        "auto_approval",
        lambda f: f.approval_mode is ApprovalMode.AUTO,
        lambda f: Verdict(Outcome.AUTO_JOIN, "auto_approval", "the agent accepts invitations automatically"),
    ),
)

ASK_OWNER = Verdict(Outcome.ASK_OWNER, "owner_approval", "waiting for the owner's approval")
APPROVED = Verdict(Outcome.AUTO_JOIN, "owner_approved", "approved by the owner")


def decide_invitation(facts: InvitationFacts) -> Verdict:
    """The first check that fires decides; when none does, the owner is asked."""
    for check in CHECKS:
        if check.fires(facts):
            return check.verdict(facts)
    return ASK_OWNER


def decide_approval(facts: InvitationFacts) -> Verdict:
    """The owner approved: join unless something the owner cannot override now stands in the way."""
    for check in CHECKS:
        if check.on_approval and check.fires(facts):
            return check.verdict(facts)
    return APPROVED


# --- suspensions ---------------------------------------------------------------------------------------------------


def suspension_covers(*, platform: str, server: str, room_key: str | None, room: tuple[str, str, str]) -> bool:
    """Whether a suspension (of a whole server when ``room_key`` is None, else of one room) covers ``room``
    (given as ``(platform, server, channel)``)."""
    r_platform, r_server, r_channel = room
    if room_key is not None:
        return room_key == f"{r_platform}:{r_server}:{r_channel}"
    return platform == r_platform and server == r_server


# --- rewards ---------------------------------------------------------------------------------------------------------


class RewardEvent(enum.StrEnum):
    FORCED_LEAVE = "forced_leave"
    SUSPENSION = "suspension"
    BLOCKED_MESSAGE = "blocked_message"
    DRAFT_APPROVED = "draft_approved"
    DRAFT_EDITED = "draft_edited"
    DRAFT_REJECTED = "draft_rejected"
    INVITATION_APPROVED = "invitation_approved"
    INVITATION_DECLINED = "invitation_declined"


@dataclass(frozen=True, slots=True)
class Reward:
    reward: float
    source: str


# The numbers of issue 7. Suspension (-2) lies outside the [-1, 1] range the sentiment rewards use: a suspension is
# the strongest signal there is, and consumers that need [-1, 1] clip it (docs/presence.md).
REWARDS: dict[RewardEvent, Reward] = {
    RewardEvent.FORCED_LEAVE: Reward(-1.0, "presence.forced_leave"),
    RewardEvent.SUSPENSION: Reward(-2.0, "presence.suspension"),
    RewardEvent.BLOCKED_MESSAGE: Reward(-0.7, "presence.blocked_message"),
    RewardEvent.DRAFT_APPROVED: Reward(0.5, "explicit.owner"),
    RewardEvent.DRAFT_EDITED: Reward(-0.2, "explicit.owner"),
    RewardEvent.DRAFT_REJECTED: Reward(-0.5, "explicit.owner"),
    RewardEvent.INVITATION_APPROVED: Reward(0.5, "explicit.owner"),
    RewardEvent.INVITATION_DECLINED: Reward(-0.3, "explicit.owner"),
}
