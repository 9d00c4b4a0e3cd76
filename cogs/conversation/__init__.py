"""The conversation moderator cog: keeps multi-agent conversations organised, transparently (see
docs/conversation.md)."""

from bot.plugins import CogPlugin
from cogs.conversation.config import ConversationSettings

PLUGIN = CogPlugin(
    name="conversation",
    settings=ConversationSettings,
    cog="cogs.conversation.cog:ConversationCog",
    order=50,
    description="room modes and interventions in multi-agent conversations",
)

__all__ = ["PLUGIN"]
