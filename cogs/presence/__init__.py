"""Agent presence: invitations with owner approval, join and leave, drafts, the agent API."""

from bot.plugins import CogPlugin
from cogs.presence.config import PresenceSettings

PLUGIN = CogPlugin(
    name="presence",
    settings=PresenceSettings,
    cog="cogs.presence.cog:PresenceCog",
    order=40,
    description="invitations with owner approval, join and leave, drafts, the agent API",
)

__all__ = ["PLUGIN"]
