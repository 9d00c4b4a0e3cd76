"""The Slack adapter: Steward as a slack-bolt app (Socket Mode or HTTP mode, one workspace or several by OAuth).

Parts: ``factory`` (create_adapter), ``config`` (the ``[slack]`` section), ``adapter`` (lifecycle and health),
``listeners`` (what bolt hands over), ``inbound`` (payloads -> core events), ``outbound`` (actions performed),
``web`` (Web API calls and counters), ``workspaces`` (which workspace and token), ``http_mode`` (signed requests
and OAuth routes), ``memory`` (bounded caches), ``blocks`` (escaping and Block Kit), ``oauth`` (installation
stores).

Importing this package does not import slack-bolt or slack-sdk: only creating the adapter does.
"""

from __future__ import annotations

from adapters.slack.config import SlackSettings
from adapters.slack.factory import create_adapter, secrets_outside_environment
from bot.plugins import AdapterPlugin

PLUGIN = AdapterPlugin(name="slack", settings=SlackSettings, create="adapters.slack.factory:create_adapter")

__all__ = ["PLUGIN", "create_adapter", "secrets_outside_environment"]
