"""Gathering what the invitation policy decides on: the agent, its settings (or the configured defaults), the
room's facts from one query, and the core's suspensions."""

from __future__ import annotations

from bot.cog import CogContext
from cogs.presence.config import PresenceSettings
from cogs.presence.errors import PresenceError
from domain import Actor, ActorKind, Room
from policy.presence import InvitationFacts, InviterKind, classify_inviter
from storage.core import AgentRecord
from storage.presence import AgentSettings, PresenceStore


def inviter_kind(record: AgentRecord, inviter: Actor) -> InviterKind:
    """Who ``inviter`` is to ``record``'s agent (its owner, a user, another agent, the system)."""
    return classify_inviter(
        actor_kind=str(inviter.kind),
        actor_id=inviter.id,
        actor_platform=inviter.platform,
        owner_id=record.owner_id,
        agent_platform=record.platform,
    )


def actor_kind(stored_inviter_kind: str) -> ActorKind:
    """The actor kind of an inviter stored with its ``InviterKind`` value."""
    return {
        InviterKind.AGENT.value: ActorKind.AGENT,
        InviterKind.SYSTEM.value: ActorKind.SYSTEM,
    }.get(stored_inviter_kind, ActorKind.HUMAN)


class Facts:
    def __init__(self, ctx: CogContext[PresenceSettings], store: PresenceStore) -> None:
        self.ctx = ctx
        self.store = store

    async def agent(self, name: str) -> AgentRecord:
        record = await self.ctx.agents.get(name)
        if record is None:
            raise PresenceError(f"no agent named {name!r} is registered")
        return record

    def defaults(self, agent: str, at: float) -> AgentSettings:
        cfg = self.ctx.config()
        return AgentSettings(
            agent=agent,
            invitation_policy=cfg.default_invitation_policy,
            approval_mode=cfg.default_approval_mode,
            message_approval=cfg.default_message_approval,
            max_rooms=cfg.default_max_rooms,
            join_cooldown_seconds=cfg.default_join_cooldown_seconds,
            updated_at=at,
        )

    async def settings_of(self, agent: str) -> AgentSettings:
        found = await self.store.settings.get(agent)
        return found if found is not None else self.defaults(agent, self.ctx.clock.now())

    def suspended_until(self, agent: str, room: Room, now: float) -> float | None:
        """The end of the latest suspension (the core's record) that covers ``room`` at ``now``, if any."""
        server = room.server_key
        for suspension in self.ctx.suspensions.covering(agent, now):  # latest end first
            if suspension.covers(server, room.key, now):
                return suspension.until
        return None

    async def gather(
        self, record: AgentRecord, settings: AgentSettings, room: Room, inviter: Actor, now: float, *, count_spam: bool
    ) -> InvitationFacts:
        cfg = self.ctx.config(room)
        found = await self.store.room_facts(
            record.name,
            room,
            inviter_platform=inviter.platform,
            inviter_id=inviter.id,
            inviter_since=now - cfg.inviter_window_seconds if count_spam else None,
        )
        return InvitationFacts(
            now=now,
            inviter_kind=inviter_kind(record, inviter),
            policy=settings.invitation_policy,
            approval_mode=settings.approval_mode,
            self_invite=inviter.is_agent and inviter.id == record.name,
            room_accepts_agents=found.room_accepts if found.room_accepts is not None else bool(cfg.accept_agents),
            suspended_until=self.suspended_until(record.name, room, now),
            present_in_room=found.present,
            rooms_in_use=found.rooms_in_use,
            max_rooms=settings.max_rooms,
            last_join_at=found.last_join_at,
            join_cooldown=settings.join_cooldown_seconds,
            inviter_recent=found.inviter_recent,
            inviter_limit=cfg.inviter_max_invitations,
            defer_on_cooldown=cfg.defer_on_cooldown,
        )
