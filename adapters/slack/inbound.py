"""From Slack payloads to core events: who is speaking (human, registered agent, other bot), where, in reply to
what; plus the small bounded memories the adapter keeps (seen event ids, pending button clicks, user lookups)."""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from adapters.slack.blocks import mentioned_users, unescape_text
from bot.events import (
    Event,
    MemberJoined,
    MemberLeft,
    MessageCreated,
    MessageDeleted,
    MessageEdited,
    ReactionAdded,
)
from bot.logging import get_logger
from domain import Actor, ActorKind, Room
from storage.core import AgentRepository
from storage.slack import AgentPostRepository

log = get_logger("steward.slack.inbound")

PLATFORM = "slack"

# Message subtypes that are someone saying something; every other subtype (joins, topic changes ...) is not a
# message to moderate and is ignored (member changes arrive as their own events).
SPOKEN_SUBTYPES = frozenset({None, "thread_broadcast", "file_share", "me_message", "bot_message"})


class EventDeduper:
    """Remembers event ids for ``ttl`` seconds (at most ``max_entries``) so that Slack's retries are dropped."""

    def __init__(self, ttl: float, max_entries: int, now: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._now = now
        self._seen: OrderedDict[str, float] = OrderedDict()

    def first_time(self, event_id: str) -> bool:
        now = self._now()
        while self._seen:
            oldest_id, seen_at = next(iter(self._seen.items()))
            if now - seen_at <= self.ttl and len(self._seen) < self.max_entries:
                break
            del self._seen[oldest_id]
        if event_id in self._seen:
            return False
        self._seen[event_id] = now
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

    def __init__(self, ttl: float, max_entries: int, now: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._now = now
        self._items: OrderedDict[str, tuple[float, Interaction]] = OrderedDict()

    def put(self, interaction: Interaction) -> str:
        key = f"{interaction.team_id}.{secrets.token_hex(8)}"
        self._items[key] = (self._now(), interaction)
        while len(self._items) > self.max_entries:
            self._items.popitem(last=False)
        return key

    def get(self, key: str) -> Interaction | None:
        found = self._items.get(key)
        if found is None:
            return None
        stored_at, interaction = found
        if self._now() - stored_at > self.ttl:
            del self._items[key]
            return None
        return interaction

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


UsersInfoFn = Callable[[str, str], Awaitable[Mapping[str, Any] | None]]


class UserDirectory:
    """``users.info`` answers per (team, user), cached for ``ttl`` seconds; failures are cached briefly too."""

    FAILURE_TTL = 30.0

    def __init__(self, fetch: UsersInfoFn, ttl: float, now: Callable[[], float] = time.monotonic) -> None:
        self._fetch = fetch
        self.ttl = ttl
        self._now = now
        self._cache: dict[tuple[str, str], tuple[float, UserInfo | None]] = {}
        self.lookups = 0

    async def get(self, team_id: str, user_id: str) -> UserInfo | None:
        key = (team_id, user_id)
        cached = self._cache.get(key)
        now = self._now()
        if cached is not None:
            expires, info = cached
            if now < expires:
                return info
        self.lookups += 1
        user = await self._fetch(team_id, user_id)
        info = _user_info(user_id, user) if user is not None else None
        self._cache[key] = (now + (self.ttl if info is not None else min(self.ttl, self.FAILURE_TTL)), info)
        if len(self._cache) > 50_000:
            self._cache.clear()
        return info


def _user_info(user_id: str, user: Mapping[str, Any]) -> UserInfo:
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


@dataclass(frozen=True, slots=True)
class SelfIds:
    """Steward's own bot user and bot id in the workspace the payload came from."""

    bot_user_id: str | None
    bot_id: str | None

    def is_self(self, user_id: str | None = None, bot_id: str | None = None) -> bool:
        return bool(
            (user_id and self.bot_user_id and user_id == self.bot_user_id)
            or (bot_id and self.bot_id and bot_id == self.bot_id)
        )


class Translator:
    """Turns one Events API payload into the core events it means (usually one, sometimes none)."""

    def __init__(
        self,
        *,
        agents: AgentRepository,
        posts: AgentPostRepository,
        users: UserDirectory | None,
    ) -> None:
        self.agents = agents
        self.posts = posts
        self.users = users

    async def translate(self, body: Mapping[str, Any], me: SelfIds) -> list[Event]:
        event = body.get("event")
        if not isinstance(event, Mapping):
            return []
        team = str(body.get("team_id") or event.get("team") or "")
        at = _float(body.get("event_time")) or _float(event.get("event_ts")) or time.time()
        kind = event.get("type")
        if kind == "message":
            return await self._message(team, event, me, at)
        if kind == "reaction_added":
            return await self._reaction(team, event, me, at)
        if kind in ("member_joined_channel", "member_left_channel"):
            channel, user = event.get("channel"), event.get("user")
            if not channel or not user:
                return []
            room = Room(PLATFORM, team, str(channel))
            member = await self.actor(team, str(user), me)
            cls = MemberJoined if kind == "member_joined_channel" else MemberLeft
            return [cls(at=at, room=room, member=member)]
        return []

    # --- actors ----------------------------------------------------------------------------------------------------

    async def actor(self, team: str, user_id: str, me: SelfIds, *, bot_id: str | None = None, name: str = "") -> Actor:
        """The actor behind a user id (or a bot id): a registered agent, Steward itself, another bot, or a human."""
        for candidate in (user_id, bot_id):
            if candidate:
                agent = await self.agents.by_platform_user(PLATFORM, candidate)
                if agent is not None:
                    return Actor(PLATFORM, agent.name, ActorKind.AGENT, agent.display_name or agent.name)
        if me.is_self(user_id, bot_id):
            return Actor(PLATFORM, user_id or bot_id or "steward", ActorKind.BOT, "Steward")
        if bot_id:
            return Actor(PLATFORM, user_id or bot_id, ActorKind.BOT, name)
        info = await self.users.get(team, user_id) if self.users is not None and user_id else None
        if info is None:
            return Actor(PLATFORM, user_id, ActorKind.HUMAN, name)
        kind = ActorKind.BOT if info.is_bot else ActorKind.HUMAN
        return Actor(PLATFORM, user_id, kind, info.name, info.roles)

    async def author_of(self, team: str, channel: str, ts: str, user_id: str | None, me: SelfIds) -> Actor | None:
        """The author of an earlier message: for Steward's own posts, the agent it posted for (when it did)."""
        if not user_id:
            return None
        if me.is_self(user_id):
            agent_name = await self.posts.agent_of(team_id=team, channel_id=channel, ts=ts)
            if agent_name is not None:
                agent = await self.agents.get(agent_name)
                shown = (agent.display_name or agent.name) if agent is not None else agent_name
                return Actor(PLATFORM, agent_name, ActorKind.AGENT, shown)
        return await self.actor(team, user_id, me)

    # --- payloads ---------------------------------------------------------------------------------------------------

    async def _message(self, team: str, event: Mapping[str, Any], me: SelfIds, at: float) -> list[Event]:
        subtype = event.get("subtype")
        channel = event.get("channel")
        if not channel:
            return []
        room = Room(PLATFORM, team, str(channel))
        if subtype == "message_deleted":
            deleted = event.get("deleted_ts") or (event.get("previous_message") or {}).get("ts")
            return [MessageDeleted(at=at, room=room, message_id=str(deleted))] if deleted else []
        if subtype == "message_changed":
            message = event.get("message") or {}
            previous = event.get("previous_message") or {}
            user, bot_id = message.get("user"), message.get("bot_id")
            if not message.get("ts") or me.is_self(user, bot_id):
                return []
            # Link unfurls and attachment changes arrive as edits with the text unchanged: not an edit to judge.
            if previous and previous.get("text") == message.get("text"):
                return []
            author = await self.actor(team, str(user or ""), me, bot_id=bot_id, name=str(message.get("username", "")))
            return [
                MessageEdited(
                    at=at,
                    room=room,
                    message_id=str(message["ts"]),
                    author=author,
                    text=unescape_text(str(message.get("text") or "")),
                )
            ]
        if subtype not in SPOKEN_SUBTYPES:
            return []
        ts = event.get("ts")
        user, bot_id = event.get("user"), event.get("bot_id")
        if not ts or not (user or bot_id):
            return []
        if me.is_self(user, bot_id):
            return []
        bot_name = str(event.get("username") or (event.get("bot_profile") or {}).get("name") or "")
        author = await self.actor(team, str(user or ""), me, bot_id=bot_id, name=bot_name)
        raw_text = str(event.get("text") or "")
        thread_ts = event.get("thread_ts")
        in_thread = bool(thread_ts) and thread_ts != ts
        reply_to_author = None
        if in_thread:
            reply_to_author = await self.author_of(team, str(channel), str(thread_ts), event.get("parent_user_id"), me)
        mentions = []
        for user_id in mentioned_users(raw_text):
            agent = await self.agents.by_platform_user(PLATFORM, user_id)
            mentions.append(agent.name if agent is not None else user_id)
        return [
            MessageCreated(
                at=at,
                room=room,
                message_id=str(ts),
                author=author,
                text=unescape_text(raw_text),
                reply_to=str(thread_ts) if in_thread else None,
                reply_to_author=reply_to_author,
                thread_id=str(thread_ts) if in_thread else None,
                mentions=tuple(mentions),
            )
        ]

    async def _reaction(self, team: str, event: Mapping[str, Any], me: SelfIds, at: float) -> list[Event]:
        item = event.get("item") or {}
        user = event.get("user")
        if item.get("type") != "message" or not item.get("channel") or not item.get("ts") or not user:
            return []
        channel, ts = str(item["channel"]), str(item["ts"])
        return [
            ReactionAdded(
                at=at,
                room=Room(PLATFORM, team, channel),
                message_id=ts,
                actor=await self.actor(team, str(user), me),
                emoji=str(event.get("reaction") or ""),
                message_author=await self.author_of(team, channel, ts, event.get("item_user"), me),
            )
        ]


def _float(value: object) -> float | None:
    try:
        return float(value) if value is not None else None  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
