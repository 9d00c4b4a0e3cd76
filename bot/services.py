"""Services cogs offer each other, looked up by their Protocol type rather than by a string.

A cog that offers one calls ``ctx.provide(AgentDirectory, impl)``; a cog that uses one asks
``ctx.service(AgentDirectory)`` at the moment it needs it (``None`` while no loaded cog offers it), so no cog
imports another and the load order does not matter. The Protocols a cog may offer are declared here, in the core;
``TextScorer`` lives with its value types in ``bot/scoring.py``.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar, cast

from bot.publisher import AgentSubmission, Decision

T = TypeVar("T")


class AgentDirectory(Protocol):
    """What the registered agents help with (offered by the presence cog)."""

    async def topics(self) -> dict[str, list[str]]:
        """Each agent's topics, by agent name (agents without topics left out)."""
        ...


class DraftReview(Protocol):
    """Holding an approved message for its owner's review (offered by the presence cog's drafts)."""

    async def hold_for_review(self, submission: AgentSubmission, decision: Decision, decision_id: int) -> str:
        """Keep the message as a draft the owner approves, edits or rejects; return the draft's reference."""
        ...


class ServiceRegistry:
    """The services on offer, one implementation per Protocol, each with the cog that offered it."""

    def __init__(self) -> None:
        self._offered: dict[type[Any], tuple[str, object]] = {}

    def provide(self, kind: type[T], impl: T, *, owner: str) -> None:
        if kind in self._offered:
            raise ValueError(f"{kind.__name__} is already provided by {self._offered[kind][0]!r}")
        self._offered[kind] = (owner, impl)

    def get(self, kind: type[T]) -> T | None:
        offered = self._offered.get(kind)
        return cast(T, offered[1]) if offered is not None else None

    def __contains__(self, kind: type[Any]) -> bool:
        return kind in self._offered

    def remove_owner(self, owner: str) -> None:
        for kind in [k for k, (o, _impl) in self._offered.items() if o == owner]:
            del self._offered[kind]

    def owners(self) -> dict[str, str]:
        """Protocol name -> the cog that offers it (for health and status)."""
        return {kind.__name__: owner for kind, (owner, _impl) in self._offered.items()}
