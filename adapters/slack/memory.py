"""The Slack adapter's small bounded memories: event ids already handled (Slack retries), button clicks waiting for
an answer, ``users.info`` answers, and which workspace a channel or user was last seen in. All are cachetools
caches: bounded, and forgotten after their time."""

from __future__ import annotations

import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cachetools import LRUCache, TLRUCache, TTLCache

Clock = Callable[[], float]
# A JSON object from Slack's API, as slack-sdk decodes it; its fields are checked where they are read.
SlackObject = Mapping[str, Any]


class EventDeduper:
    """Remembers event ids for ``ttl`` seconds (at most ``max_entries``) so that Slack's retries are dropped."""

    def __init__(self, ttl: float, max_entries: int, now: Clock = time.monotonic) -> None:
        self._seen: TTLCache[str, bool] = TTLCache(maxsize=max_entries, ttl=ttl, timer=now)

    def first_time(self, event_id: str) -> bool:
        if event_id in self._seen:
            return False
        self._seen[event_id] = True
        return True

    def __len__(self) -> int:
        return len(self._seen)


@dataclass(frozen=True, slots=True)
class Interaction:
    """What Steward keeps of a button click or command so a cog's answer can reach the clicking user."""

    team_id: str
    channel_id: str | None
    user_id: str
    response_url: str | None
    message_ts: str | None


class InteractionStore:
    """Pending interactions by key (``ButtonPressed.interaction_id``); bounded, and forgotten after ``ttl``."""

    def __init__(self, ttl: float, max_entries: int, now: Clock = time.monotonic) -> None:
        self._items: TTLCache[str, Interaction] = TTLCache(maxsize=max_entries, ttl=ttl, timer=now)

    def put(self, interaction: Interaction) -> str:
        key = f"{interaction.team_id}.{secrets.token_hex(8)}"
        self._items[key] = interaction
        return key

    def get(self, key: str) -> Interaction | None:
        return self._items.get(key)

    def __len__(self) -> int:
        return len(self._items)


@dataclass(frozen=True, slots=True)
class UserInfo:
    id: str
    name: str
    is_admin: bool = False
    is_owner: bool = False
    is_bot: bool = False

    @property
    def roles(self) -> frozenset[str]:
        roles = set()
        if self.is_admin:
            roles.add("admin")
        if self.is_owner:
            roles.add("owner")
        return frozenset(roles)


UsersInfoFn = Callable[[str, str], Awaitable[SlackObject | None]]


class UserDirectory:
    """``users.info`` answers per (team, user), cached for ``ttl`` seconds; failures are cached briefly too."""

    FAILURE_TTL = 30.0
    MAX_ENTRIES = 50_000

    def __init__(self, fetch: UsersInfoFn, ttl: float, now: Clock = time.monotonic) -> None:
        self._fetch = fetch
        self.ttl = ttl
        self._cache: TLRUCache[tuple[str, str], UserInfo | None] = TLRUCache(
            maxsize=self.MAX_ENTRIES, ttu=self._expires, timer=now
        )
        self.lookups = 0

    def _expires(self, _key: tuple[str, str], info: UserInfo | None, now: float) -> float:
        return now + (self.ttl if info is not None else min(self.ttl, self.FAILURE_TTL))

    async def get(self, team_id: str, user_id: str) -> UserInfo | None:
        key = (team_id, user_id)
        if key in self._cache:
            return self._cache[key]
        self.lookups += 1
        user = await self._fetch(team_id, user_id)
        info = _user_info(user_id, user) if user is not None else None
        self._cache[key] = info
        return info


def _user_info(user_id: str, user: SlackObject) -> UserInfo:
    profile = user.get("profile") or {}
    name = (
        profile.get("display_name") or profile.get("real_name") or user.get("real_name") or user.get("name") or user_id
    )
    return UserInfo(
        id=user_id,
        name=str(name),
        is_admin=bool(user.get("is_admin")),
        is_owner=bool(user.get("is_owner") or user.get("is_primary_owner")),
        is_bot=bool(user.get("is_bot")),
    )


class TeamMemory:
    """Multi-workspace: which workspace a channel or user was last seen in (to pick an action's token), and the
    Enterprise Grid org of a workspace. Single-workspace installs remember nothing."""

    MAX_ENTRIES = 100_000

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled
        self.channel_team: LRUCache[str, str] = LRUCache(maxsize=self.MAX_ENTRIES)
        self.user_team: LRUCache[str, str] = LRUCache(maxsize=self.MAX_ENTRIES)
        self.enterprise_of: LRUCache[str, str] = LRUCache(maxsize=self.MAX_ENTRIES)

    @staticmethod
    def _put(cache: LRUCache[str, str], key: object, team: str | None, enabled: bool) -> None:
        if enabled and key and isinstance(key, str) and team:
            cache[key] = team

    def saw_channel(self, channel: object, team: str | None) -> None:
        self._put(self.channel_team, channel, team, self.enabled)

    def saw_user(self, user: object, team: str | None) -> None:
        self._put(self.user_team, user, team, self.enabled)

    def saw_enterprise(self, team: str, enterprise: str) -> None:
        self._put(self.enterprise_of, team, enterprise, self.enabled)
