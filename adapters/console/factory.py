"""Makes the console adapter (the embedded default when no platform is configured) from the settings."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.adapter import Adapter
    from bot.config import Settings


def create_adapter(settings: Settings) -> Adapter:
    from adapters.console.adapter import ConsoleAdapter

    return ConsoleAdapter.from_settings(settings)
