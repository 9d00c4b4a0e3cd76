from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from bot.app import StewardApp
from tests.e2e.slack.helpers_cog import RecorderCog
from tests.e2e.slack.mock_slack import APP_TOKEN, BOT_TOKEN, SIGNING_SECRET, MockSlack, sign


@pytest.fixture(autouse=True)
def _no_slack_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # slack-bolt and slack-sdk read SLACK_* variables on their own: none may leak in from the shell.
    for name in list(os.environ):
        if name.startswith(("SLACK_", "STEWARD_")):
            monkeypatch.delenv(name)


@pytest.fixture
async def mock_slack() -> AsyncIterator[MockSlack]:
    mock = await MockSlack().start()
    try:
        yield mock
    finally:
        await mock.stop()


@dataclass
class SlackHarness:
    app: StewardApp
    mock: MockSlack
    cog: RecorderCog
    session: aiohttp.ClientSession
    stopped: bool = False

    async def stop(self) -> None:
        """Stop this app now (e.g. to start another on the same database, as a restart)."""
        if not self.stopped:
            self.stopped = True
            await self.session.close()
            await self.app.stop()

    @property
    def base(self) -> str:
        assert self.app.http is not None
        return f"http://127.0.0.1:{self.app.http.bound_port}"

    async def post(
        self, body: str, *, content_type: str, headers: dict[str, str] | None = None, path: str = "/slack/events"
    ) -> aiohttp.ClientResponse:
        all_headers = {"Content-Type": content_type, **(headers if headers is not None else sign(body))}
        async with self.session.post(self.base + path, data=body.encode(), headers=all_headers) as response:
            await response.read()
            return response

    async def send_event(self, body: dict[str, Any], **kwargs: Any) -> aiohttp.ClientResponse:
        return await self.post(json.dumps(body), content_type="application/json", **kwargs)

    async def send_form(self, body: str, **kwargs: Any) -> aiohttp.ClientResponse:
        return await self.post(body, content_type="application/x-www-form-urlencoded", **kwargs)


StartFn = Callable[..., Awaitable[SlackHarness]]


@pytest.fixture
async def start_slack(make_settings, mock_slack: MockSlack, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[StartFn]:
    """Start a real StewardApp whose Slack adapter talks to the mock; ``env`` holds the secrets to export."""
    started: list[SlackHarness] = []

    async def start(
        *,
        mode: str = "http",
        env: dict[str, str] | None = None,
        cogs: list[str] | None = None,
        sections: dict[str, Any] | None = None,
        **slack: Any,
    ) -> SlackHarness:
        secrets = {"BOT_TOKEN": BOT_TOKEN, "SIGNING_SECRET": SIGNING_SECRET} if env is None else env
        if mode == "socket" and env is None:
            secrets["APP_TOKEN"] = APP_TOKEN
        for key, value in secrets.items():
            monkeypatch.setenv(f"STEWARD_SLACK__{key}", value)
        settings = make_settings(
            slack={"mode": mode, "api_base_url": mock_slack.api_url, **slack},
            http={"enabled": True, "port": 0},
            cogs={"enabled": cogs or []},
            **(sections or {}),
        )
        app = StewardApp(settings)
        await app.start()
        report = await app.cogs.load("slack_e2e", RecorderCog)
        assert report.loaded, report.error
        harness = SlackHarness(app, mock_slack, app.cogs.cogs["slack_e2e"], aiohttp.ClientSession())  # type: ignore[arg-type]
        started.append(harness)
        return harness

    yield start
    for harness in started:
        await harness.stop()
