"""The discord.py classes: the two client classes (one shard or several), the persistent Steward button, the
message components made of Steward buttons, and the command tree.

Everything that subclasses discord.py lives here; the clients only forward gateway events to the adapter, which
queues and normalises them (``adapters.discord.inbound``).
"""

from __future__ import annotations

import re
from typing import Any, Protocol, TypedDict, Unpack

import discord
from discord import app_commands

from adapters.discord.inbound import Inbound, InboundHandler
from adapters.discord.interactions import Interactions
from adapters.discord.supervision import GatewayGuard
from bot.actions import Button, ButtonStyle

BUTTON_TEMPLATE = r"steward:(?P<kind>[a-z_]+):(?P<key>[A-Za-z0-9_.-]+):(?P<choice>[a-z_]+)"
BUTTON_PATTERN = re.compile(BUTTON_TEMPLATE)
MAX_BUTTONS = 25
MAX_CUSTOM_ID = 100

_STYLES = {
    ButtonStyle.PRIMARY: discord.ButtonStyle.primary,
    ButtonStyle.SECONDARY: discord.ButtonStyle.secondary,
    ButtonStyle.SUCCESS: discord.ButtonStyle.success,
    ButtonStyle.DANGER: discord.ButtonStyle.danger,
}

Interaction = discord.Interaction[discord.Client]


class ClientOptions(TypedDict, total=False):
    """What Steward passes to the discord.py client it makes."""

    intents: discord.Intents
    guild_ready_timeout: float
    chunk_guilds_at_startup: bool
    allowed_mentions: discord.AllowedMentions
    member_cache_flags: discord.MemberCacheFlags
    application_id: int
    shard_count: int


ButtonItem = discord.ui.Button[discord.ui.View]


class GatewayHost(Protocol):
    """What the clients forward to (the adapter): its gateway callbacks, its ordered queue, its parts."""

    inbound: Inbound
    interactions: Interactions
    guard: GatewayGuard

    async def on_setup_hook(self) -> None: ...

    def on_gateway(self, what: str) -> None: ...

    def on_shard(self, what: str, shard: int | None) -> None: ...

    def receive(self, kind: str, handler: InboundHandler, *args: object) -> None: ...

    def on_listener_error(self, event_method: str) -> None: ...


def _adapter_of(client: discord.Client) -> GatewayHost | None:
    return client.steward if isinstance(client, StewardClient | StewardShardedClient) else None


class StewardButton(discord.ui.DynamicItem[ButtonItem], template=BUTTON_TEMPLATE):
    """Every Steward button. Its state is its custom id, so clicks are understood after a restart."""

    def __init__(
        self, custom_id: str, label: str = "", style: discord.ButtonStyle = discord.ButtonStyle.secondary
    ) -> None:
        super().__init__(
            discord.ui.Button(label=label or custom_id.rsplit(":", 1)[-1], style=style, custom_id=custom_id)
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> StewardButton:
        if isinstance(item, discord.ui.Button):
            return cls(match.group(0), item.label or "", item.style)
        return cls(match.group(0))

    async def callback(self, interaction: Interaction) -> None:
        adapter = _adapter_of(interaction.client)
        if adapter is not None:
            await adapter.interactions.on_button(interaction, self.custom_id)


def build_view(buttons: tuple[Button, ...]) -> discord.ui.View | None:
    """The components for ``buttons``; a custom id Discord could not route back raises ValueError."""
    if not buttons:
        return None
    if len(buttons) > MAX_BUTTONS:
        raise ValueError(f"a message holds at most {MAX_BUTTONS} buttons, got {len(buttons)}")
    view = discord.ui.View(timeout=None)
    for button in buttons:
        if not BUTTON_PATTERN.fullmatch(button.custom_id):
            raise ValueError(f"button id {button.custom_id!r} does not match {BUTTON_TEMPLATE}")
        if len(button.custom_id) > MAX_CUSTOM_ID:
            raise ValueError(f"button id {button.custom_id!r} is longer than Discord's {MAX_CUSTOM_ID} characters")
        view.add_item(StewardButton(button.custom_id, button.label[:80], _STYLES[button.style]))
    # The dynamic item answers every click; a stopped view is not also stored in discord.py's view store (where it
    # would live forever and receive each click a second time).
    view.stop()
    return view


class _StewardEvents:
    """Gateway events forwarded to the adapter (mixed into both client classes)."""

    steward: GatewayHost

    def _get_state(self, **options: Any) -> Any:
        # discord.py makes its ConnectionState (the gateway parsers) here, inside Client.__init__.
        state = super()._get_state(**options)  # type: ignore[misc]
        self.steward.guard.install(state)
        return state

    async def setup_hook(self) -> None:
        await self.steward.on_setup_hook()

    async def on_ready(self) -> None:
        self.steward.on_gateway("ready")

    async def on_resumed(self) -> None:
        self.steward.on_gateway("resumed")

    async def on_connect(self) -> None:
        self.steward.on_gateway("connect")

    async def on_disconnect(self) -> None:
        self.steward.on_gateway("disconnect")

    # A sharded client also reports each shard (an unsharded one never sends these).
    async def on_shard_ready(self, shard_id: int) -> None:
        self.steward.on_shard("ready", shard_id)

    async def on_shard_resumed(self, shard_id: int) -> None:
        self.steward.on_shard("resumed", shard_id)

    async def on_shard_disconnect(self, shard_id: int) -> None:
        self.steward.on_shard("disconnect", shard_id)

    # Gateway events are queued in arrival order and normalised one at a time (see ``GatewayHost.receive``).
    async def on_message(self, message: discord.Message) -> None:
        self.steward.receive("message", self.steward.inbound.on_message, message)

    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        self.steward.receive("message_edit", self.steward.inbound.on_message_edit, payload)

    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        ids = (payload.message_id,)
        self.steward.receive(
            "message_delete", self.steward.inbound.on_message_delete, payload.guild_id, payload.channel_id, ids
        )

    async def on_raw_bulk_message_delete(self, payload: discord.RawBulkMessageDeleteEvent) -> None:
        ids = tuple(payload.message_ids)
        self.steward.receive(
            "message_delete", self.steward.inbound.on_message_delete, payload.guild_id, payload.channel_id, ids
        )

    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        self.steward.receive("reaction", self.steward.inbound.on_reaction, payload)

    async def on_member_join(self, member: discord.Member) -> None:
        self.steward.receive("member_join", self.steward.inbound.on_member_join, member)

    async def on_raw_member_remove(self, payload: discord.RawMemberRemoveEvent) -> None:
        self.steward.receive("member_remove", self.steward.inbound.on_member_remove, payload)

    async def on_error(self, event_method: str, /, *args: object, **kwargs: object) -> None:
        self.steward.on_listener_error(event_method)


class StewardClient(_StewardEvents, discord.Client):
    def __init__(self, steward: GatewayHost, **options: Unpack[ClientOptions]) -> None:
        self.steward = steward
        super().__init__(**options)


class StewardShardedClient(_StewardEvents, discord.AutoShardedClient):
    def __init__(
        self, steward: GatewayHost, *, shard_ids: list[int] | None = None, **options: Unpack[ClientOptions]
    ) -> None:
        self.steward = steward
        if shard_ids is None:
            super().__init__(**options)
        else:
            super().__init__(shard_ids=shard_ids, **options)


class StewardCommandTree(app_commands.CommandTree[discord.Client]):
    async def on_error(self, interaction: Interaction, error: app_commands.AppCommandError) -> None:
        adapter = _adapter_of(interaction.client)
        if adapter is not None:
            await adapter.interactions.on_command_error(interaction, error)
