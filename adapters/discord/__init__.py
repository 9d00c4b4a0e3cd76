"""The Discord adapter: Steward as a discord.py bot.

discord.py is imported only when the adapter is created, so the configuration of the ``[discord]`` section can be
validated on machines where Discord is not used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from adapters.discord.config import DiscordSettings
from bot.plugins import AdapterPlugin

if TYPE_CHECKING:
    from bot.adapter import Adapter
    from bot.config import Settings


def create_adapter(settings: Settings) -> Adapter:
    from adapters.discord.adapter import DiscordAdapter

    return DiscordAdapter(settings.section("discord"))


PLUGIN = AdapterPlugin(name="discord", settings=DiscordSettings, create="adapters.discord:create_adapter")

__all__ = ["PLUGIN", "create_adapter"]
