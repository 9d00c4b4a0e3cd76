"""Makes the Discord adapter from the settings. discord.py is imported only when the adapter is created, so the
``[discord]`` section can be validated where Discord is not used."""

from __future__ import annotations

from typing import TYPE_CHECKING

from adapters.discord.config import DiscordSettings

if TYPE_CHECKING:
    from bot.adapter import Adapter
    from bot.config import Settings


def create_adapter(settings: Settings) -> Adapter:
    from adapters.discord.adapter import DiscordAdapter

    return DiscordAdapter(settings.section_as(DiscordSettings, "discord"))
