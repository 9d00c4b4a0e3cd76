"""What every part of the Discord adapter shares: the platform name, Discord's limits, id parsing, rooms, role
sets and the adapter's counters. Imports discord.py only for its types."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import discord

from bot.errors import ExitCode, StartupError
from domain import Room

if TYPE_CHECKING:
    from bot.core import Core

PLATFORM = "discord"
MAX_MESSAGE = 2000
DM_FALLBACK_NOTE = "dm_failed_fallback"

AnyUser = discord.abc.User | discord.Member | discord.User


class DiscordStartError(StartupError):
    """Discord could not be reached, or the gateway was not ready in time, at start (``steward run`` exits 7)."""

    code = ExitCode.UNAVAILABLE


class BadInput(ValueError):
    """An action that names something Discord cannot have (a malformed id, a too-long timeout)."""


def snowflake(value: str | int | None, what: str) -> int:
    """``value`` as a Discord id; anything else raises ``BadInput`` naming ``what``."""
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        raise BadInput(f"{what} {value!r} is not a Discord id") from None
    if number <= 0 or number >= 1 << 64:
        raise BadInput(f"{what} {value!r} is not a Discord id")
    return number


def clip(text: str) -> str:
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


def chunks(text: str) -> list[str]:
    text = text or "(no output)"
    return [text[i : i + MAX_MESSAGE] for i in range(0, len(text), MAX_MESSAGE)]


def room_of(guild_id: int | None, channel_id: int) -> Room:
    return Room(PLATFORM, str(guild_id) if guild_id else "", str(channel_id))


def roles_of(user: AnyUser) -> frozenset[str]:
    """A member's role ids and names (so ``exempt_roles`` may name either); none for a plain user."""
    found: set[str] = set()
    for role in getattr(user, "roles", None) or ():
        if role.is_default():
            continue
        found.add(str(role.id))
        found.add(role.name)
    return frozenset(found)


class Host(Protocol):
    """What the adapter's parts see of the adapter: its app and its discord.py client, both set at start."""

    app: Core | None
    client: discord.Client | None


def app_of(host: Host) -> Core:
    if host.app is None:
        raise RuntimeError("the Discord adapter is not attached to an app")
    return host.app


def client_of(host: Host) -> discord.Client:
    if host.client is None:
        raise RuntimeError("the Discord adapter has no client yet")
    return host.client


def me_of(host: Host) -> int | None:
    """Steward's own user id, once logged in."""
    user = host.client.user if host.client is not None else None
    return user.id if user else None


class Counters:
    """The adapter's Prometheus counters; nothing is counted before the adapter is attached to an app."""

    def __init__(self, host: Host) -> None:
        self._host = host

    def count(self, name: str, doc: str, **labels: str) -> None:
        app = self._host.app
        if app is None:
            return
        app.metrics.counter(name, doc, sorted(labels)).labels(**labels).inc()

    def event(self, event: str) -> None:
        self.count("steward_discord_events_total", "Discord gateway events turned into core events", event=event)

    def ignored(self, reason: str) -> None:
        self.count("steward_discord_ignored_total", "Discord messages Steward ignored on purpose", reason=reason)

    def interaction(self, kind: str, outcome: str) -> None:
        self.count("steward_discord_interactions_total", "Interactions received", kind=kind, outcome=outcome)

    def dm_fallback(self, outcome: str) -> None:
        self.count("steward_discord_dm_fallbacks_total", "DMs that failed and where they went", outcome=outcome)
