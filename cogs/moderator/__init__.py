"""The moderator: gates agents' messages before they are posted and moderates humans after the fact."""

from cogs.moderator.cog import ModeratorCog
from cogs.moderator.service import ModerationContext, ModeratorService

COG = ModeratorCog

__all__ = ["COG", "ModerationContext", "ModeratorCog", "ModeratorService"]
