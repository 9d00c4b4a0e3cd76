"""The ``[presence]`` section: defaults for new agents, invitation and draft lifetimes, the agent API's limits.

Room-level switches (``accept_agents``) may be overridden per server and per channel like every cog section.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from policy.presence import ApprovalMode, InvitationPolicy, MessageApproval


class PresenceSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    accept_agents: bool = Field(
        default=True, description="Whether rooms accept agents at all (the 'room agents off' command overrides)"
    )
    announce: bool = Field(default=True, description="Announce agents joining and leaving in the room")
    invitation_ttl_seconds: float = Field(
        default=3600.0, gt=0, description="How long an invitation waits for its owner before it expires"
    )
    draft_ttl_seconds: float = Field(
        default=3600.0, gt=0, description="How long a held draft waits for its owner before it expires"
    )
    defer_on_cooldown: bool = Field(
        default=True, description="Defer an invitation that arrives during the agent's join cooldown (else decline)"
    )
    inviter_window_seconds: float = Field(
        default=600.0, gt=0, description="The window in which an inviter's invitations are counted against spam"
    )
    inviter_max_invitations: int = Field(
        default=5, ge=1, description="Invitations one inviter may make inside the window before being declined"
    )
    default_invitation_policy: InvitationPolicy = Field(
        default=InvitationPolicy.ANY_USER, description="Invitation policy of a newly registered agent"
    )
    default_approval_mode: ApprovalMode = Field(
        default=ApprovalMode.MANUAL, description="Approval mode of a newly registered agent"
    )
    default_message_approval: MessageApproval = Field(
        default=MessageApproval.NONE, description="Message approval of a newly registered agent"
    )
    default_max_rooms: int = Field(default=5, ge=1, description="Rooms a newly registered agent may be in at once")
    default_join_cooldown_seconds: float = Field(
        default=60.0, ge=0, description="Minimum time between two joins of a newly registered agent"
    )
    api_max_body_bytes: int = Field(
        default=16 * 1024, gt=0, description="Largest request body the agent API accepts (413 above)"
    )
    api_rate_per_minute: float = Field(
        default=60.0, gt=0, description="Sustained requests per minute one agent may make to the agent API"
    )
    api_burst: int = Field(default=10, ge=1, description="Requests one agent may make at once before being limited")
    api_auth_failure_burst: int = Field(
        default=10,
        ge=1,
        description="Requests without a valid token one client address may make before it gets 429",
    )
    api_auth_failures_per_minute: float = Field(
        default=6.0, gt=0, description="How fast a client address earns back failed requests (per minute)"
    )
    api_require_presence: bool = Field(
        default=True, description="An agent may post through the API only in rooms it has joined"
    )
    api_event_queue_size: int = Field(
        default=200, ge=1, description="Events kept per agent for long-polling; the oldest are dropped (counted)"
    )
    api_poll_max_seconds: float = Field(
        default=30.0, gt=0, le=300, description="Longest a long-poll request waits for an event"
    )
    webhook_timeout_seconds: float = Field(
        default=5.0, gt=0, description="Timeout of one webhook delivery to an agent's callback URL"
    )
    reserved_names: tuple[str, ...] = Field(
        default=("Steward",),
        description="Names no agent may take or look like (Steward's own; add the bot's name if you renamed it)",
    )
    check_member_names: bool = Field(
        default=True, description="Refuse agent names that look like a member's display name seen on the server"
    )
