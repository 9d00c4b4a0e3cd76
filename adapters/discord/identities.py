"""Who did something on Discord: a registered agent (by its bot user or its own webhook), another bot, or a human;
and, for messages Steward posted through its webhooks, the agent they were posted for."""

from __future__ import annotations

import discord
from cachetools import LRUCache

from adapters.discord.common import PLATFORM, AnyUser, Host, app_of, roles_of
from adapters.discord.webhooks import Webhooks
from domain import Actor, ActorKind

# Messages Steward posted for agents, remembered to name the author of a reply's parent or a reacted message.
AGENT_POSTS_REMEMBERED = 20_000


class Identities:
    """Turns Discord users, webhooks and message authors into core actors."""

    def __init__(self, host: Host, webhooks: Webhooks) -> None:
        self._host = host
        self._webhooks = webhooks
        self.agent_posts: LRUCache[str, str] = LRUCache(maxsize=AGENT_POSTS_REMEMBERED)  # message id -> agent

    def posted_for(self, message_id: int, agent: str) -> None:
        self.agent_posts[str(message_id)] = agent

    async def actor_of(self, user: AnyUser, *, webhook_id: int | None = None) -> Actor:
        """The core actor for a message author: a registered agent (by bot user id or webhook id), another bot,
        or a human. Role ids and names ride along for exemptions."""
        roles = roles_of(user)
        if webhook_id is not None or user.bot:
            platform_id = webhook_id if webhook_id is not None else user.id
            record = await app_of(self._host).agents.by_platform_user(PLATFORM, str(platform_id))
            if record is not None:
                return Actor(PLATFORM, record.name, ActorKind.AGENT, record.display_name or record.name, roles)
            return Actor(PLATFORM, str(user.id), ActorKind.BOT, user.display_name, roles)
        return Actor(PLATFORM, str(user.id), ActorKind.HUMAN, user.display_name, roles)

    async def author_of(self, message: discord.Message) -> Actor:
        """The author of any message, including one Steward posted for an agent (a reply's parent)."""
        if message.webhook_id is not None and await self._webhooks.is_own(message):
            name = self.agent_posts.get(str(message.id))
            if name is None:
                # Posted before this process started: the webhook showed the agent's display name.
                for record in await app_of(self._host).agents.list():
                    if message.author.name in (record.display_name, record.name):
                        name = record.name
                        break
            if name is not None:
                return Actor(PLATFORM, name, ActorKind.AGENT, message.author.name)
        return await self.actor_of(message.author, webhook_id=message.webhook_id)

    async def by_id(self, user_id: int) -> Actor:
        """The actor behind a bare user id (a reacted message's author)."""
        record = await app_of(self._host).agents.by_platform_user(PLATFORM, str(user_id))
        if record is not None:
            return Actor(PLATFORM, record.name, ActorKind.AGENT, record.display_name or record.name)
        client = self._host.client
        user = client.get_user(user_id) if client is not None else None
        if user is not None:
            return await self.actor_of(user)
        return Actor(PLATFORM, str(user_id), ActorKind.HUMAN, str(user_id))

    async def of_message_author(self, message_id: int, author_id: int) -> Actor:
        """The author of a reacted message: the agent Steward posted it for, else whoever wrote it."""
        agent_name = self.agent_posts.get(str(message_id))
        if agent_name is not None:
            return Actor(PLATFORM, agent_name, ActorKind.AGENT, agent_name)
        return await self.by_id(author_id)

    @staticmethod
    def of_interaction(interaction: discord.Interaction[discord.Client]) -> Actor:
        user = interaction.user
        return Actor(PLATFORM, str(user.id), ActorKind.HUMAN, user.display_name, roles_of(user))
