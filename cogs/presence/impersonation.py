"""Refusing agent names that impersonate: Steward itself, another agent, or a member of the server.

At registration (the ``agent register`` command on every platform) and when an agent service changes how it is
shown (``PATCH /api/v1/me``), the agent's name and display name are compared by their confusable skeleton
(``policy.impersonation``) with Steward's reserved names (``[presence] reserved_names``), every registered agent's
name and display name (whoever owns it), and the display names of the server's members that Steward has seen
(authors of messages and members joining, remembered per server in a bounded map of skeletons). A collision is
refused with a message naming what it collides with, logged and counted
(``steward_agent_names_refused_total{against}``).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from cachetools import LRUCache

from bot.cog import CogContext, listener
from bot.events import MemberJoined, MessageCreated
from cogs.presence.config import PresenceSettings
from domain import Actor, ActorKind
from policy.impersonation import Collision, KnownName, collision, name_shapes
from storage.core import AgentRecord


class ImpersonationRefused(ValueError):
    """A name or display name that looks like a known one; the message says which."""

    def __init__(self, found: Collision) -> None:
        self.collision = found
        super().__init__(f"refused: {found.reason()}; choose a name that cannot be mistaken for it")


# The looks of the names authors write under, worked out once per name (a pure function; bounded).
_shapes = functools.lru_cache(maxsize=8192)(name_shapes)


class MemberNames:
    """The display names of members seen per server, as skeletons (a bounded LRU over all servers)."""

    def __init__(self, max_names: int = 50_000) -> None:
        self._names: LRUCache[tuple[str, str], str] = LRUCache(maxsize=max_names)

    def __len__(self) -> int:
        return len(self._names)

    def saw(self, server_key: str, actor: Actor) -> None:
        if actor.kind is not ActorKind.HUMAN:
            return
        for shown in {actor.display_name, actor.name} - {""}:
            for shape in _shapes(shown):
                self._names[(server_key, shape)] = shown

    def known(self, server_key: str | None, shapes: Iterable[str]) -> list[KnownName]:
        """The members (of ``server_key``, or of every server when None) whose names have one of ``shapes``."""
        wanted = set(shapes)
        if server_key is not None:
            found = (self._names.get((server_key, shape)) for shape in wanted)
            return [KnownName(name, "a member of this server", "member") for name in found if name]
        return [
            KnownName(name, "a member", "member") for (_, shape), name in list(self._names.items()) if shape in wanted
        ]


class NameGuard:
    """The check every registration path calls before it stores a name."""

    def __init__(self, ctx: CogContext[PresenceSettings], members: MemberNames) -> None:
        self.ctx = ctx
        self.members = members
        self._refused = ctx.metrics.counter(
            "steward_agent_names_refused_total", "Agent names or display names refused as impersonation", ["against"]
        )

    async def check(
        self,
        *,
        name: str,
        display_name: str,
        server_key: str | None,
        requester: Actor | None = None,
        renaming: str | None = None,
    ) -> None:
        """Raise ``ImpersonationRefused`` when ``name`` or ``display_name`` looks like a name it must not pass for.
        ``renaming`` is the agent being changed (its own names are no collision); the ``requester``'s own name is
        none either (an owner may name an agent after themselves)."""
        given = [("name", name), ("display name", display_name)]
        found = collision(given, await self._known(given, server_key, requester, renaming))
        if found is None:
            return
        against = found.known.kind
        self._refused.labels(against).inc()
        self.ctx.log.info(
            "agent_name_refused", name=name, display_name=display_name, collides_with=found.known.name, against=against
        )
        raise ImpersonationRefused(found)

    async def _known(
        self, given: list[tuple[str, str]], server_key: str | None, requester: Actor | None, renaming: str | None
    ) -> list[KnownName]:
        cfg = self.ctx.config()
        known = [KnownName(reserved, "Steward itself", "steward") for reserved in cfg.reserved_names]
        for record in await self.ctx.agents.list():
            if record.name != renaming:
                known.extend(_agent_names(record))
        if cfg.check_member_names:
            mine = (
                set().union(*(name_shapes(n) for n in (requester.display_name, requester.id))) if requester else set()
            )
            shapes = set().union(*(name_shapes(value) for _, value in given)) - mine
            known.extend(self.members.known(server_key, shapes))
        return known


def _agent_names(record: AgentRecord) -> list[KnownName]:
    names = [KnownName(record.name, f"the agent {record.name}", "agent")]
    if record.display_name and record.display_name != record.name:
        names.append(KnownName(record.display_name, f"the agent {record.name}'s display name", "agent"))
    return names


class MemberWatch:
    """Listeners (a mixin of the presence cog) that remember the members' display names as they are seen."""

    member_names: MemberNames

    @listener(MessageCreated)
    async def remember_author(self, event: MessageCreated) -> None:
        self.member_names.saw(event.room.server_key, event.author)

    @listener(MemberJoined)
    async def remember_member(self, event: MemberJoined) -> None:
        self.member_names.saw(event.room.server_key, event.member)
