from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest

from bot.app import StewardApp
from bot.clock import ManualClock
from bot.logging import configure_logging
from tests.support import RecordingAdapter, SettingsFactory

configure_logging("WARNING", "json")

# Tests never talk to a real platform: no token from the developer's shell may leak in.
for _name in list(os.environ):
    if _name.startswith(("STEWARD_", "SLACK_", "DISCORD_")):
        del os.environ[_name]


@pytest.fixture
def make_settings(tmp_path) -> SettingsFactory:
    return SettingsFactory(tmp_path)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def adapter() -> RecordingAdapter:
    return RecordingAdapter()


@pytest.fixture
async def app(make_settings, adapter, clock) -> AsyncIterator[StewardApp]:
    """A started app with every cog enabled in the defaults, on a real SQLite file and the recording adapter."""
    steward = StewardApp(make_settings(), adapters=[adapter], clock=clock)
    await steward.start()
    try:
        yield steward
    finally:
        await steward.stop()
