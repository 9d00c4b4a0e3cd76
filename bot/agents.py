"""The agent registry as the running bot reads it: every agent message and most listeners look an agent up by name
(or by its platform user), and a database round trip for each is a thread hop.

``CachedAgentRepository`` is the storage repository with those two look-ups answered from memory: each answer,
an agent found or none, is kept (a bounded LRU) until something changes the registry. Every change goes through
this object (it is the app's ``agents``; one process writes a database), and a change drops everything kept, both
before and after it is written, so no answer read before a change is served after it. While a change is in
progress look-ups go to the database and keep nothing.
"""

from __future__ import annotations

from typing import Any

from cachetools import LRUCache

from storage.core import AgentRecord, AgentRepository
from storage.db import Database

AGENTS_KEPT = 8192  # look-ups kept (names and platform users, found or not); each ~0.2 KB


class CachedAgentRepository(AgentRepository):
    def __init__(self, db: Database, *, kept: int = AGENTS_KEPT) -> None:
        super().__init__(db)
        self._by_name: LRUCache[str, AgentRecord | None] = LRUCache(maxsize=kept)
        self._by_user: LRUCache[tuple[str, str], AgentRecord | None] = LRUCache(maxsize=kept)
        self._generation = 0  # counts changes: an answer read across one is not kept
        self._changing = 0

    def _changed(self) -> None:
        self._generation += 1
        self._by_name.clear()
        self._by_user.clear()

    async def get(self, name: str) -> AgentRecord | None:
        try:
            return self._by_name[name]
        except KeyError:
            pass
        generation = self._generation
        record = await super().get(name)
        if generation == self._generation and not self._changing:
            self._by_name[name] = record
        return record

    async def by_platform_user(self, platform: str, user_id: str) -> AgentRecord | None:
        key = (platform, user_id)
        try:
            return self._by_user[key]
        except KeyError:
            pass
        generation = self._generation
        record = await super().by_platform_user(platform, user_id)
        if generation == self._generation and not self._changing:
            self._by_user[key] = record
        return record

    async def register(self, agent: AgentRecord) -> AgentRecord:
        self._begin()
        try:
            return await super().register(agent)
        finally:
            self._end()

    async def update(self, name: str, **fields: Any) -> AgentRecord | None:
        self._begin()
        try:
            return await super().update(name, **fields)
        finally:
            self._end()

    async def delete(self, name: str) -> bool:
        self._begin()
        try:
            return await super().delete(name)
        finally:
            self._end()

    def _begin(self) -> None:
        self._changing += 1
        self._changed()

    def _end(self) -> None:
        self._changing -= 1
        self._changed()

    @property
    def kept(self) -> int:
        """Look-ups answered from memory now (names and platform users)."""
        return len(self._by_name) + len(self._by_user)
