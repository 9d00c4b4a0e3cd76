"""The ``[slack]`` section: how Steward connects to Slack.

This module must not import slack-bolt or slack-sdk: the core imports it to validate configuration even where
Slack is not used. Tokens and secrets are read from the environment only (``STEWARD_SLACK__BOT_TOKEN``,
``STEWARD_SLACK__APP_TOKEN``, ``STEWARD_SLACK__SIGNING_SECRET``, ``STEWARD_SLACK__ADMIN_TOKEN``,
``STEWARD_SLACK__CLIENT_ID``, ``STEWARD_SLACK__CLIENT_SECRET``); the adapter refuses to start when one of them
came from the configuration file.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

_SLACK_ID = re.compile(r"^[A-Z0-9]{2,32}$")
_COMMAND = re.compile(r"^/[a-z0-9_\-]{1,31}$")

# What the bot needs: read and post messages, post as agents with their name and icon, DM owners, invite and
# remove agents' bot users, see reactions and member changes, look up who is a workspace admin.
DEFAULT_BOT_SCOPES: tuple[str, ...] = (
    "channels:history",
    "channels:read",
    "channels:manage",
    "chat:write",
    "chat:write.customize",
    "chat:write.public",
    "commands",
    "groups:history",
    "groups:read",
    "groups:write",
    "im:history",
    "im:read",
    "im:write",
    "mpim:history",
    "reactions:read",
    "users:read",
)

# Keys whose values are secrets: they may only come from the environment.
SECRET_KEYS: tuple[str, ...] = ("bot_token", "app_token", "signing_secret", "admin_token", "client_id", "client_secret")


def _path(value: str) -> str:
    if not value.startswith("/") or " " in value:
        raise ValueError(f"must be an absolute URL path such as '/slack/events', got {value!r}")
    return value


class SlackSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Literal["socket", "http"] = Field(
        default="socket",
        description="'socket': Socket Mode over a websocket (no public URL; needs app_token). 'http': Slack posts "
        "signed requests to Steward's HTTP server (needs signing_secret and a public URL)",
    )
    bot_token: SecretStr | None = Field(
        default=None,
        description="The bot token (xoxb-) of a single-workspace install. Secret: STEWARD_SLACK__BOT_TOKEN",
    )
    app_token: SecretStr | None = Field(
        default=None,
        description="The app-level token (xapp-, scope connections:write) for Socket Mode. "
        "Secret: STEWARD_SLACK__APP_TOKEN",
    )
    signing_secret: SecretStr | None = Field(
        default=None,
        description="The signing secret that authenticates Slack's HTTP requests. Secret: "
        "STEWARD_SLACK__SIGNING_SECRET",
    )
    admin_token: SecretStr | None = Field(
        default=None,
        description="A workspace admin's user token (xoxp-, chat:write) used to delete other people's messages; "
        "without it Steward can delete only its own. Secret: STEWARD_SLACK__ADMIN_TOKEN",
    )
    client_id: SecretStr | None = Field(
        default=None,
        description="OAuth client id for a multi-workspace install (with client_secret). STEWARD_SLACK__CLIENT_ID",
    )
    client_secret: SecretStr | None = Field(
        default=None,
        description="OAuth client secret for a multi-workspace install. Secret: STEWARD_SLACK__CLIENT_SECRET",
    )
    scopes: list[str] = Field(
        default_factory=lambda: list(DEFAULT_BOT_SCOPES),
        description="Bot scopes requested by the OAuth install flow (multi-workspace)",
    )
    user_scopes: list[str] = Field(
        default_factory=list,
        description="User scopes requested from the installing user (e.g. ['chat:write'] so an installing admin's "
        "token can delete other people's messages in that workspace)",
    )
    redirect_uri: str | None = Field(
        default=None,
        description="The OAuth redirect URL registered with Slack (optional when only one is registered)",
    )
    install_path: str = Field(default="/slack/install", description="HTTP path that starts the OAuth install")
    redirect_path: str = Field(default="/slack/oauth_redirect", description="HTTP path of the OAuth redirect")
    events_path: str = Field(default="/slack/events", description="HTTP mode: the Events API request URL path")
    interactivity_path: str = Field(
        default="/slack/events", description="HTTP mode: the interactivity (buttons) request URL path"
    )
    commands_path: str = Field(default="/slack/events", description="HTTP mode: the slash command request URL path")
    api_base_url: str = Field(
        default="https://slack.com/api/",
        description="Slack Web API base URL, ending in '/' (tests point it at a local mock)",
    )
    command: str = Field(default="/steward", description="The slash command Steward answers: /steward <command> ...")
    dm_fallback_channels: dict[str, str] = Field(
        default_factory=dict,
        description="Workspace (team) id -> channel id where a prompt is posted, mentioning the user, when a DM "
        "fails and the action names no fallback room",
    )
    max_signature_age: int = Field(
        default=300,
        ge=30,
        le=3600,
        description="HTTP mode: requests whose timestamp is further than this many seconds from now are refused",
    )
    dedupe_ttl: float = Field(
        default=900.0,
        gt=0,
        description="Seconds an event id is remembered to drop Slack's retries of it",
    )
    dedupe_max_entries: int = Field(default=20_000, ge=100, description="How many event ids are remembered at most")
    user_cache_ttl: float = Field(
        default=600.0,
        ge=0,
        description="Seconds users.info answers (names, admin flags) are cached; 0 disables the lookup for messages",
    )
    interaction_ttl: float = Field(
        default=1800.0,
        gt=0,
        le=1800.0,
        description="Seconds a button click can be answered through its response_url (Slack: 30 minutes)",
    )
    max_pending_interactions: int = Field(
        default=5000, ge=1, description="How many button clicks are kept for a follow-up answer"
    )
    agent_post_retention_days: float = Field(
        default=30.0,
        gt=0,
        description="Days Steward remembers which agent a message it posted belongs to (so replies and reactions "
        "to it are credited to the agent)",
    )
    connect_timeout: float = Field(
        default=30.0,
        gt=0,
        description="Seconds start-up waits for auth.test and the Socket Mode connection before giving up",
    )
    ping_interval: float = Field(default=10.0, gt=0, description="Socket Mode websocket ping interval in seconds")

    @property
    def oauth(self) -> bool:
        """True for a multi-workspace install: OAuth client id and secret, installations in the database."""
        return _set(self.client_id) and _set(self.client_secret)

    @property
    def configured(self) -> bool:
        """True when a bot token (single workspace) or OAuth client id and secret are set: the app runs Slack."""
        return _set(self.bot_token) or self.oauth

    def secret(self, key: str) -> str | None:
        value = getattr(self, key)
        return value.get_secret_value().strip() if _set(value) else None

    @field_validator("install_path", "redirect_path", "events_path", "interactivity_path", "commands_path")
    @classmethod
    def _paths(cls, value: str) -> str:
        return _path(value)

    @field_validator("api_base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"must be an http(s) URL, got {value!r}")
        return value if value.endswith("/") else value + "/"

    @field_validator("command")
    @classmethod
    def _command(cls, value: str) -> str:
        if not _COMMAND.match(value):
            raise ValueError(f"must look like '/steward' (lower case, at most 32 characters), got {value!r}")
        return value

    @field_validator("dm_fallback_channels")
    @classmethod
    def _fallbacks(cls, value: dict[str, str]) -> dict[str, str]:
        for team, channel in value.items():
            if not _SLACK_ID.match(team) or not _SLACK_ID.match(channel):
                raise ValueError(f"keys and values must be Slack ids such as 'T0123' -> 'C0456', got {team!r}")
        return value

    @model_validator(mode="after")
    def _complete(self) -> SlackSettings:
        if _set(self.client_id) != _set(self.client_secret):
            raise ValueError(
                "multi-workspace OAuth needs both STEWARD_SLACK__CLIENT_ID and STEWARD_SLACK__CLIENT_SECRET"
            )
        if not self.configured:
            return self
        if self.mode == "socket" and not _set(self.app_token):
            raise ValueError(
                "Socket Mode needs the app-level token: set STEWARD_SLACK__APP_TOKEN (or choose mode = 'http')"
            )
        if self.mode == "http" and not _set(self.signing_secret):
            raise ValueError("HTTP mode needs the signing secret: set STEWARD_SLACK__SIGNING_SECRET")
        return self


def _set(value: SecretStr | None) -> bool:
    return value is not None and bool(value.get_secret_value().strip())
