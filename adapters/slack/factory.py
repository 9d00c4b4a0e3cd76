"""Makes the Slack adapter from the settings, refusing secrets written in the configuration file.

slack-bolt and slack-sdk are imported only when the adapter is created, so the ``[slack]`` section can be
validated on machines where Slack is not used.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from adapters.slack.config import SECRET_KEYS, SlackSettings

if TYPE_CHECKING:
    from bot.adapter import Adapter
    from bot.config import Settings


def secrets_outside_environment(settings: Settings) -> list[str]:
    """The ``[slack]`` secrets that are set but do not come from ``STEWARD_SLACK__<KEY>`` environment variables."""
    section = settings.section_as(SlackSettings, "slack")
    env_names = {name.upper() for name in os.environ}
    return [
        key
        for key in SECRET_KEYS
        if section.secret(key) is not None and f"STEWARD_SLACK__{key.upper()}" not in env_names
    ]


def create_adapter(settings: Settings) -> Adapter:
    from bot.config import ConfigError

    misplaced = secrets_outside_environment(settings)
    if misplaced:
        raise ConfigError(
            [
                f"slack.{key}: secrets are read only from the environment; remove it from the file and set "
                f"STEWARD_SLACK__{key.upper()}"
                for key in misplaced
            ]
        )
    from adapters.slack.adapter import SlackAdapter

    return SlackAdapter(settings.section_as(SlackSettings, "slack"))
