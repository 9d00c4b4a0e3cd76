"""Who may decide: the presence cog's refusals (for the person who asked) and the owner check."""

from __future__ import annotations

from domain import Actor
from storage.core import AgentRecord


class PresenceError(Exception):
    """A request that cannot be carried out; the message is for the person who asked."""


class NotOwner(PresenceError):
    def __init__(self, record: AgentRecord) -> None:
        self.record = record
        super().__init__(f"only the owner of {record.name} ({record.owner_id}) can decide this")


def is_owner(record: AgentRecord, actor: Actor) -> bool:
    return actor.id == record.owner_id and actor.platform == record.platform
