"""The console's plug-in: the embedded terminal chat, the fallback adapter when no platform is configured."""

from __future__ import annotations

from typing import TYPE_CHECKING

from adapters.console.config import ConsoleSettings
from bot.plugins import AdapterPlugin

if TYPE_CHECKING:
    from bot.adapter import Adapter
    from bot.config import Settings


def create_adapter(settings: Settings) -> Adapter:
    from adapters.console.adapter import ConsoleAdapter

    adapter = ConsoleAdapter.from_settings(settings)
    section = settings.section_as(ConsoleSettings, "console")
    # The chat owns the terminal: logs go to a file next to the database.
    adapter.log_path = settings.database.path.parent / section.log_file
    return adapter


PLUGIN = AdapterPlugin(
    name="console", settings=ConsoleSettings, create="adapters.console.plugin:create_adapter", fallback=True
)
