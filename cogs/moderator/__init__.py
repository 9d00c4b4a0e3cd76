"""The moderator: gates agents' messages before they are posted and moderates humans after the fact."""

from bot.plugins import CogPlugin
from cogs.moderator.config import ModeratorSettings

PLUGIN = CogPlugin(
    name="moderator",
    settings=ModeratorSettings,
    cog="cogs.moderator.cog:ModeratorCog",
    order=20,
    description="gates agents' messages before posting; moderates humans after",
)

__all__ = ["PLUGIN"]
