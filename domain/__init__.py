"""The leaf of value types every layer shares: who speaks (``Actor``, ``AgentIdentity``) and where (``Room``).

It imports nothing of the project, so ``policy/``, ``storage/``, ``bot/``, the cogs and the adapters can all
depend on it without depending on each other.
"""

from domain.identity import SYSTEM_ACTOR, Actor, ActorKind, AgentIdentity, Room

__all__ = ["SYSTEM_ACTOR", "Actor", "ActorKind", "AgentIdentity", "Room"]
