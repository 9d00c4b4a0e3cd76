"""The conversation moderator cog: keeps multi-agent conversations organised, transparently (see
docs/conversation.md)."""

from cogs.conversation.cog import ConversationCog

COG = ConversationCog

__all__ = ["COG", "ConversationCog"]
