"""Agent presence: invitations with owner approval, join and leave, drafts, suspensions, the agent API."""

from cogs.presence.cog import PresenceCog

COG = PresenceCog

__all__ = ["COG", "PresenceCog"]
