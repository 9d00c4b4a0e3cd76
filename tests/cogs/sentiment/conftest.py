"""Fixtures for the sentiment cog: an app running only the sentiment cog."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.app import StewardApp
from tests.cogs.sentiment.helpers import ChatRoom


@pytest.fixture
def sentiment_settings(make_settings):
    def make(**sentiment: Any):
        return make_settings(cogs={"enabled": ["sentiment"]}, sentiment=sentiment)

    return make


@pytest.fixture
async def start_app(sentiment_settings, adapter, clock) -> AsyncIterator[Any]:
    started: list[StewardApp] = []

    async def start(**sentiment: Any) -> StewardApp:
        app = StewardApp(sentiment_settings(**sentiment), adapters=[adapter], clock=clock)
        await app.start()
        started.append(app)
        return app

    yield start
    for app in started:
        await app.stop()


@pytest.fixture
async def sapp(start_app):
    return await start_app()


@pytest.fixture
def room(sapp) -> ChatRoom:
    return ChatRoom(sapp)
