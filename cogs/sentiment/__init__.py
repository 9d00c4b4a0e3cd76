"""The sentiment cog: reads each room's mood, turns it into feedback for agents, and stores all feedback."""

from cogs.sentiment.cog import SentimentCog

COG = SentimentCog

__all__ = ["COG", "SentimentCog"]
