"""The leaf of value types every layer shares: who speaks (``Actor``, ``AgentIdentity``) and where (``Room``), and
how messages name them (``user_ref``, ``actor_ref``, ``room_ref``).

It imports nothing of the project, so ``policy/``, ``storage/``, ``bot/``, the cogs and the adapters can all
depend on it without depending on each other.
"""

from domain.identity import SYSTEM_ACTOR, Actor, ActorKind, AgentIdentity, Room
from domain.mentions import MENTION_PLATFORMS, actor_ref, room_ref, user_ref

__all__ = [
    "MENTION_PLATFORMS",
    "SYSTEM_ACTOR",
    "Actor",
    "ActorKind",
    "AgentIdentity",
    "Room",
    "actor_ref",
    "room_ref",
    "user_ref",
]
