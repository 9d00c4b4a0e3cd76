"""The sentiment cog: reads each room's mood, turns it into feedback for agents, and stores all feedback."""

from bot.plugins import CogPlugin, CommandsPlugin
from cogs.sentiment.config import SentimentSettings

PLUGIN = CogPlugin(
    name="sentiment",
    settings=SentimentSettings,
    cog="cogs.sentiment.cog:SentimentCog",
    order=30,
    description="room mood, implicit and explicit feedback for agents",
)

# `steward feedback ...`: feedback export and summaries (imported only when the CLI runs)
COMMANDS = CommandsPlugin(name="sentiment", module="cogs.sentiment.cli")

__all__ = ["COMMANDS", "PLUGIN"]
