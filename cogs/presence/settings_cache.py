"""Agents' presence settings kept in memory, so that an agent's message does not read the database for them.

The drafts holder asks, for every agent message, whether its owner approves each draft; invitations ask for the
agent's policy. One process writes a database file (``storage/lock.py``) and every write of the presence cog goes
through this repository, so the copy it keeps is the table's: a ``put`` or ``delete`` updates it once the write
returned, and a read that raced a write is not kept (the write's value is). An agent with no row is remembered as
such too (most have none). The copy is bounded (least recently used agents are forgotten and read again).
"""

from __future__ import annotations

from cachetools import LRUCache

from storage.db import Database
from storage.presence.settings import AgentSettings, SettingsRepository

MAX_AGENTS = 20_000


class CachedSettings(SettingsRepository):
    def __init__(self, db: Database, *, max_agents: int = MAX_AGENTS) -> None:
        super().__init__(db)
        self._known: LRUCache[str, AgentSettings | None] = LRUCache(maxsize=max_agents)
        self._writes = 0  # writes finished so far: a read that a write finished during is not kept

    def __len__(self) -> int:
        return len(self._known)

    async def put(self, settings: AgentSettings) -> AgentSettings:
        self._known.pop(settings.agent, None)
        try:
            stored = await super().put(settings)
        finally:
            self._writes += 1
        self._known[settings.agent] = stored
        return stored

    async def get(self, agent: str) -> AgentSettings | None:
        try:
            return self._known[agent]
        except KeyError:
            pass
        writes = self._writes
        found = await super().get(agent)
        if writes == self._writes:
            self._known[agent] = found
        return found

    async def delete(self, agent: str) -> None:
        self._known.pop(agent, None)
        try:
            await super().delete(agent)
        finally:
            self._writes += 1
        self._known[agent] = None
