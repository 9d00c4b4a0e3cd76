"""Who may decide: the presence cog's refusals (for the person who asked) and the owner check."""

from __future__ import annotations

from domain import Actor, user_ref
from storage.core import AgentRecord


class PresenceError(Exception):
    """A request that cannot be carried out; the message is for the person who asked."""


class NotOwner(PresenceError):
    def __init__(self, record: AgentRecord) -> None:
        self.record = record
        owner = user_ref(record.platform, record.owner_id)
        super().__init__(f"only the owner of {record.name} ({owner}) can decide this")


def is_owner(record: AgentRecord, actor: Actor) -> bool:
    return actor.id == record.owner_id and actor.platform == record.platform
