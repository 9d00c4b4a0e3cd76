"""What the Slack benchmarks share: a process environment holding only the mock Slack's credentials, so a real
token or Steward setting in the caller's environment cannot leak into a measurement."""

from __future__ import annotations

import os

from tests.e2e.slack.mock_slack import BOT_TOKEN, SIGNING_SECRET


def use_mock_slack_credentials() -> None:
    """Drop every ``SLACK_*`` and ``STEWARD_*`` variable, then configure the mock's bot token and signing secret."""
    for name in list(os.environ):
        if name.startswith(("SLACK_", "STEWARD_")):
            del os.environ[name]
    os.environ["STEWARD_SLACK__BOT_TOKEN"] = BOT_TOKEN
    os.environ["STEWARD_SLACK__SIGNING_SECRET"] = SIGNING_SECRET
