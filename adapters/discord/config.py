"""The ``[discord]`` section: how Steward connects to Discord.

This module must not import discord.py: the core imports it to validate configuration even where Discord is not
used. The bot token is a secret and is read from the environment only (``STEWARD_DISCORD__TOKEN``).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationInfo, field_validator, model_validator

_SNOWFLAKE = re.compile(r"^[0-9]{1,20}$")
# Discord's rule for application command names (lower case, as Discord stores them).
_COMMAND_NAME = re.compile(r"^[-_a-z0-9]{1,26}$")

AdminPermission = Literal[
    "manage_guild",
    "administrator",
    "manage_channels",
    "manage_messages",
    "moderate_members",
    "kick_members",
    "ban_members",
]


def _snowflake(value: str, what: str) -> str:
    text = str(value).strip()
    if not _SNOWFLAKE.match(text):
        raise ValueError(f"{what} must be a Discord id (digits only), got {value!r}")
    return text


class DiscordSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    token: SecretStr | None = Field(
        default=None,
        description="The bot token. Secret: set it only in the environment as STEWARD_DISCORD__TOKEN",
    )
    application_id: str | None = Field(
        default=None,
        description="The application id (optional: read from Discord at login when not given)",
    )
    shard_count: int | None = Field(
        default=None,
        ge=1,
        description="Total number of shards of the bot; setting it (or shard_ids / auto_shard) uses an "
        "AutoShardedClient",
    )
    shard_ids: list[int] | None = Field(
        default=None,
        description="The shards this process runs (needs shard_count); several processes can split a large bot",
    )
    auto_shard: bool = Field(
        default=False,
        description="Run every shard in this process with the shard count Discord recommends",
    )
    dm_fallback_channels: dict[str, str] = Field(
        default_factory=dict,
        description="Server id -> channel id where a prompt is posted (mentioning the user) when a DM fails",
    )
    admin_permission: AdminPermission = Field(
        default="manage_guild",
        description="The Discord permission that makes a member a Steward admin (admin-only commands)",
    )
    guild_ready_timeout: float = Field(
        default=2.0,
        ge=0,
        description="Seconds discord.py waits for the servers to stream in after READY",
    )
    ready_timeout: float = Field(
        default=60.0,
        gt=0,
        description="Seconds start-up waits for the gateway connection to be ready before giving up",
    )
    chunk_guilds_at_startup: bool = Field(
        default=False,
        description="Download every server's member list at start (memory heavy; messages carry member roles anyway)",
    )
    message_content_intent: bool = Field(
        default=True,
        description="Ask for the privileged message content intent (needed to moderate text; enable it in the "
        "Developer Portal too)",
    )
    members_intent: bool = Field(
        default=True,
        description="Ask for the privileged server members intent (member joins and leaves)",
    )
    sync_commands: bool = Field(
        default=True,
        description="Register Steward's slash commands with Discord at start",
    )
    sync_commands_guild: str | None = Field(
        default=None,
        description="Register the slash commands in this one server only (instant, for testing) instead of globally",
    )
    command_name: str = Field(
        default="steward",
        description="The slash command group (its admin twin is '<name>-admin')",
    )
    webhook_name: str = Field(
        default="Steward agents",
        min_length=1,
        max_length=80,
        description="Name of the channel webhook Steward creates to post as agents",
    )
    interaction_ttl: float = Field(
        default=900.0,
        gt=0,
        le=900.0,
        description="Seconds a button click can still be answered (Discord's interaction tokens last 15 minutes)",
    )
    inbound_queue_size: int = Field(
        default=10_000,
        ge=1,
        description="Gateway events waiting to be normalised, in order; beyond this they are dropped and counted",
    )
    api_base_url: str | None = Field(
        default=None,
        description="Discord's REST API base URL, e.g. 'http://127.0.0.1:8080/api/v10' for a local fake or a proxy "
        "(default: Discord's own)",
    )
    gateway_url: str | None = Field(
        default=None,
        description="The gateway websocket URL, e.g. 'ws://127.0.0.1:8080/' (default: Discord's own)",
    )
    max_pending_interactions: int = Field(
        default=2000,
        ge=1,
        description="How many unanswered button clicks are kept for a follow-up answer",
    )

    @property
    def configured(self) -> bool:
        """True when a bot token is set: the app then runs the Discord adapter."""
        return self.token is not None and bool(self.token.get_secret_value().strip())

    @property
    def sharded(self) -> bool:
        return self.auto_shard or self.shard_count is not None or self.shard_ids is not None

    @field_validator("application_id", "sync_commands_guild")
    @classmethod
    def _ids(cls, value: str | None) -> str | None:
        return None if value is None else _snowflake(value, "the value")

    @field_validator("api_base_url", "gateway_url")
    @classmethod
    def _urls(cls, value: str | None, info: ValidationInfo) -> str | None:
        schemes = ("http://", "https://") if info.field_name == "api_base_url" else ("ws://", "wss://")
        if value is not None and not value.startswith(schemes):
            raise ValueError(f"must start with {' or '.join(schemes)}, got {value!r}")
        return None if value is None else value.rstrip("/") if info.field_name == "api_base_url" else value

    @field_validator("dm_fallback_channels")
    @classmethod
    def _fallbacks(cls, value: dict[str, str]) -> dict[str, str]:
        return {_snowflake(k, "a server id"): _snowflake(v, "a channel id") for k, v in value.items()}

    @field_validator("command_name")
    @classmethod
    def _command_name(cls, value: str) -> str:
        if not _COMMAND_NAME.match(value):
            raise ValueError("must be 1-26 characters of lower-case letters, digits, '-' or '_'")
        return value

    @model_validator(mode="after")
    def _shards(self) -> DiscordSettings:
        if self.shard_ids is not None:
            if self.shard_count is None:
                raise ValueError("shard_ids needs shard_count")
            if not self.shard_ids:
                raise ValueError("shard_ids must name at least one shard")
            bad = [i for i in self.shard_ids if not 0 <= i < self.shard_count]
            if bad:
                raise ValueError(f"shard_ids {bad} are outside 0..{self.shard_count - 1}")
            if len(set(self.shard_ids)) != len(self.shard_ids):
                raise ValueError("a shard id is listed twice")
        return self
