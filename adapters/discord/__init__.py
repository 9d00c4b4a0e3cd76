"""The Discord adapter: Steward as a discord.py bot.

Parts: ``factory`` (create_adapter), ``config`` (the ``[discord]`` section), ``adapter`` (lifecycle and health),
``inbound`` (gateway events -> core events), ``outbound`` (actions performed), ``interactions`` (button clicks and
slash command runs), ``commands`` (slash command definitions), ``webhooks`` (posting as agents), ``identities``
(who an author is), ``client`` (the discord.py subclasses), ``common`` (shared helpers).

Importing this package does not import discord.py: only creating the adapter does.
"""

from __future__ import annotations

from adapters.discord.config import DiscordSettings
from adapters.discord.factory import create_adapter
from bot.plugins import AdapterPlugin

PLUGIN = AdapterPlugin(name="discord", settings=DiscordSettings, create="adapters.discord.factory:create_adapter")

__all__ = ["PLUGIN", "create_adapter"]
