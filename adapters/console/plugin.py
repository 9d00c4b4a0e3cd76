"""The console's plug-in: the embedded terminal chat, the fallback adapter when no platform is configured."""

from __future__ import annotations

from typing import TYPE_CHECKING

from adapters.console.config import ConsoleSettings
from bot.plugins import AdapterPlugin

if TYPE_CHECKING:
    from bot.adapter import Adapter
    from bot.config import Settings


def create_adapter(settings: Settings) -> Adapter:
    from adapters.console import ConsoleAdapter

    return ConsoleAdapter.from_settings(settings)


PLUGIN = AdapterPlugin(
    name="console", settings=ConsoleSettings, create="adapters.console.plugin:create_adapter", fallback=True
)
