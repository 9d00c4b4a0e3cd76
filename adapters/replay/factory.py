"""Makes the replay adapter: the recording 'platform' a replay runs against (``ReplayRunner`` makes its own)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.adapter import Adapter
    from bot.config import Settings


def create_adapter(settings: Settings) -> Adapter:
    from adapters.replay.adapter import ReplayAdapter

    return ReplayAdapter()
