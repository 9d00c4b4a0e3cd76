"""From Slack payloads to core events: who is speaking (human, registered agent, other bot), where, in reply to
what. One Events API payload becomes the core events it means (usually one, sometimes none)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from adapters.slack.blocks import mentioned_users, unescape_text
from adapters.slack.memory import SlackObject, UserDirectory
from adapters.slack.payloads import sane_time
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


@dataclass(frozen=True, slots=True)
class _Payload:
    """One event of a payload, with its workspace, Steward's ids there, and when it happened."""

    team: str
    event: SlackObject
    me: SelfIds
    at: float


Handler = Callable[["Translator", _Payload], Awaitable[list[Event]]]


class Translator:
    """Turns one Events API payload into the core events it means (usually one, sometimes none)."""

    def __init__(self, *, agents: AgentRepository, posts: AgentPostRepository, users: UserDirectory | None) -> None:
        self.agents = agents
        self.posts = posts
        self.users = users

    async def translate(self, body: SlackObject, me: SelfIds) -> list[Event]:
        event = body.get("event")
        if not isinstance(event, Mapping):
            return []
        team = str(body.get("team_id") or event.get("team") or "")
        at = event_time(body, time.time())
        handler = _BY_TYPE.get(str(event.get("type")))
        return await handler(self, _Payload(team, event, me, at)) if handler is not None else []

    # --- actors ----------------------------------------------------------------------------------------------------

    async def actor(self, team: str, user_id: str, me: SelfIds, *, bot_id: str | None = None, name: str = "") -> Actor:
        """The actor behind a user id (or a bot id): a registered agent, Steward itself, another bot, or a human."""
        agent = await self._agent(user_id, bot_id)
        if agent is not None:
            return agent
        if me.is_self(user_id, bot_id):
            return Actor(PLATFORM, user_id or bot_id or "steward", ActorKind.BOT, "Steward")
        if bot_id:
            return Actor(PLATFORM, user_id or bot_id, ActorKind.BOT, name)
        info = await self.users.get(team, user_id) if self.users is not None and user_id else None
        if info is None:
            return Actor(PLATFORM, user_id, ActorKind.HUMAN, name)
        kind = ActorKind.BOT if info.is_bot else ActorKind.HUMAN
        return Actor(PLATFORM, user_id, kind, info.name, info.roles)

    async def _agent(self, *platform_ids: str | None) -> Actor | None:
        """The registered agent whose platform user is one of ``platform_ids`` (a bot user id or a bot id)."""
        for candidate in platform_ids:
            if candidate:
                agent = await self.agents.by_platform_user(PLATFORM, candidate)
                if agent is not None:
                    return Actor(PLATFORM, agent.name, ActorKind.AGENT, agent.display_name or agent.name)
        return None

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

    async def _mentions(self, text: str) -> tuple[str, ...]:
        """The users ``text`` mentions; a registered agent's bot user by the agent's name."""
        mentions = []
        for user_id in mentioned_users(text):
            agent = await self.agents.by_platform_user(PLATFORM, user_id)
            mentions.append(agent.name if agent is not None else user_id)
        return tuple(mentions)

    # --- payloads ---------------------------------------------------------------------------------------------------

    async def _message(self, p: _Payload) -> list[Event]:
        if not p.event.get("channel"):
            return []
        subtype = p.event.get("subtype")
        handler = _BY_SUBTYPE.get(subtype)
        if handler is not None:
            return await handler(self, p)
        return await self._spoken(p) if subtype in SPOKEN_SUBTYPES else []

    async def _deleted(self, p: _Payload) -> list[Event]:
        deleted = p.event.get("deleted_ts") or (p.event.get("previous_message") or {}).get("ts")
        return [MessageDeleted(at=p.at, room=_room(p), message_id=str(deleted))] if deleted else []

    async def _changed(self, p: _Payload) -> list[Event]:
        message = p.event.get("message") or {}
        previous = p.event.get("previous_message") or {}
        user, bot_id = message.get("user"), message.get("bot_id")
        if not message.get("ts") or p.me.is_self(user, bot_id):
            return []
        # Link unfurls and attachment changes arrive as edits with the text unchanged: not an edit to judge.
        if previous and previous.get("text") == message.get("text"):
            return []
        author = await self.actor(p.team, str(user or ""), p.me, bot_id=bot_id, name=str(message.get("username", "")))
        text = unescape_text(str(message.get("text") or ""))
        return [MessageEdited(at=p.at, room=_room(p), message_id=str(message["ts"]), author=author, text=text)]

    async def _spoken(self, p: _Payload) -> list[Event]:
        event = p.event
        ts, user, bot_id = event.get("ts"), event.get("user"), event.get("bot_id")
        if not ts or not (user or bot_id) or p.me.is_self(user, bot_id):
            return []
        bot_name = str(event.get("username") or (event.get("bot_profile") or {}).get("name") or "")
        author = await self.actor(p.team, str(user or ""), p.me, bot_id=bot_id, name=bot_name)
        raw_text = str(event.get("text") or "")
        thread_ts = event.get("thread_ts")
        thread = str(thread_ts) if thread_ts and thread_ts != ts else None
        reply_to_author = None
        if thread is not None:
            channel = str(event["channel"])
            reply_to_author = await self.author_of(p.team, channel, thread, event.get("parent_user_id"), p.me)
        return [
            MessageCreated(
                at=p.at,
                room=_room(p),
                message_id=str(ts),
                author=author,
                text=unescape_text(raw_text),
                reply_to=thread,
                reply_to_author=reply_to_author,
                thread_id=thread,
                mentions=await self._mentions(raw_text),
            )
        ]

    async def _reaction(self, p: _Payload) -> list[Event]:
        item = p.event.get("item") or {}
        user = p.event.get("user")
        if item.get("type") != "message" or not item.get("channel") or not item.get("ts") or not user:
            return []
        channel, ts = str(item["channel"]), str(item["ts"])
        return [
            ReactionAdded(
                at=p.at,
                room=Room(PLATFORM, p.team, channel),
                message_id=ts,
                actor=await self.actor(p.team, str(user), p.me),
                emoji=str(p.event.get("reaction") or ""),
                message_author=await self.author_of(p.team, channel, ts, p.event.get("item_user"), p.me),
            )
        ]

    async def _member(self, p: _Payload) -> list[Event]:
        channel, user = p.event.get("channel"), p.event.get("user")
        if not channel or not user:
            return []
        member = await self.actor(p.team, str(user), p.me)
        cls = MemberJoined if p.event.get("type") == "member_joined_channel" else MemberLeft
        return [cls(at=p.at, room=_room(p), member=member)]


_BY_TYPE: dict[str, Handler] = {
    "message": Translator._message,
    "reaction_added": Translator._reaction,
    "member_joined_channel": Translator._member,
    "member_left_channel": Translator._member,
}
_BY_SUBTYPE: dict[str | None, Handler] = {
    "message_deleted": Translator._deleted,
    "message_changed": Translator._changed,
}


def _room(p: _Payload) -> Room:
    return Room(PLATFORM, p.team, str(p.event["channel"]))


def event_time(body: Mapping[str, object], now: float) -> float:
    """When an event happened: its ``event_time``, else its ``event_ts``, when Slack could have sent it (finite,
    after 2013, at most a day ahead); else ``now``, the receive time (the edge counted the bad time)."""
    event = body.get("event")
    inner = event.get("event_ts") if isinstance(event, Mapping) else None
    return sane_time(body.get("event_time"), now) or sane_time(inner, now) or now
