"""Supervising the gateway connection: which closes end the session for good, which payloads are dropped, and
whether the connection is up right now.

* ``fatal_of`` turns what discord.py raises when Discord ends the session for good (a close code it will not
  reconnect after, a 401 at login) into an ``AdapterFatal`` that names the close code, what to do, and the exit code.
* ``GatewayGuard`` wraps discord.py's gateway parsers (``ConnectionState.parsers``, one per dispatch name) and each
  websocket's ``received_message``: a payload discord.py cannot parse, or a frame that is not JSON or not shaped like
  one, loses that one payload (logged and counted by the adapter) instead of ending the connection.
* ``ConnectionWatch`` follows the connection (per shard) from the gateway events: it says why the adapter is down,
  and counts disconnects and reconnects.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import discord
from discord.gateway import ReconnectWebSocket, WebSocketClosure

from adapters.discord.common import PLATFORM, Counters
from bot.errors import AdapterFatal, ExitCode

# Close codes after which discord.py does not reconnect: (exit code, Discord's name for it, what to do).
FATAL_CLOSES: dict[int, tuple[ExitCode, str, str]] = {
    4004: (
        ExitCode.CREDENTIALS,
        "authentication failed",
        "the bot token is wrong or was reset: copy the token under Bot in the Developer Portal into "
        "STEWARD_DISCORD__TOKEN",
    ),
    4010: (ExitCode.PLATFORM, "invalid shard", "shard_ids must be below shard_count"),
    4011: (
        ExitCode.PLATFORM,
        "sharding required",
        "the bot is in too many servers for one connection: set auto_shard = true or shard_count",
    ),
    4012: (ExitCode.PLATFORM, "invalid API version", "upgrade discord.py and Steward"),
    4013: (ExitCode.PLATFORM, "invalid intents", "upgrade Steward: it asked for intents Discord does not know"),
    4014: (
        ExitCode.PLATFORM,
        "disallowed intents",
        "enable the Message Content and Server Members intents under Bot > Privileged Gateway Intents in the "
        "Developer Portal, or set message_content_intent / members_intent = false in [discord]",
    ),
}

# What a websocket's receive loop must still see: discord.py reconnects (or gives up) on these.
_CONNECTION_ERRORS = (
    ReconnectWebSocket,
    discord.ConnectionClosed,
    WebSocketClosure,
    OSError,
    aiohttp.ClientError,
    asyncio.TimeoutError,
)
_OPCODES = range(12)

Rejected = Callable[[str, Exception, object], None]


def fatal_of(exc: BaseException) -> AdapterFatal | None:
    """The ``AdapterFatal`` for an error that ends the Discord session for good, or None for any other error."""
    if isinstance(exc, AdapterFatal):
        return exc
    if isinstance(exc, discord.LoginFailure):
        return AdapterFatal(
            PLATFORM,
            f"Discord refused the bot token at login (401 Unauthorized: {exc})",
            hint=FATAL_CLOSES[4004][2],
            code=ExitCode.CREDENTIALS,
        )
    if isinstance(exc, discord.PrivilegedIntentsRequired):
        code = 4014
    elif isinstance(exc, discord.ConnectionClosed):
        code = exc.code
    else:
        return None
    known = FATAL_CLOSES.get(code)
    if known is None:
        return AdapterFatal(
            PLATFORM,
            f"Discord closed the gateway with close code {code} and discord.py does not reconnect after it",
            hint="see Discord's gateway close codes; restarting steward connects anew",
            code=ExitCode.PLATFORM,
        )
    exit_code, name, hint = known
    return AdapterFatal(PLATFORM, f"Discord ended the session: close code {code} ({name})", hint=hint, code=exit_code)


class GatewayGuard:
    """Keeps one bad gateway payload from ending the connection; remembers when the last frame arrived."""

    def __init__(self, on_rejected: Rejected, now: Callable[[], float] = time.monotonic) -> None:
        self._on_rejected = on_rejected
        self._now = now
        self._known: frozenset[str] = frozenset()
        self._raw: object = None
        self.last_frame: float | None = None

    def install(self, state: Any) -> None:
        """Guard ``state``'s parsers (a discord.py ``ConnectionState``) and every websocket it is given later."""
        parsers: dict[str, Callable[[Any], None]] = state.parsers
        for name, parse in list(parsers.items()):
            parsers[name] = self._guarded_parser(name, parse)
        self._known = frozenset(parsers)
        update_references: Callable[[Any], None] = state._update_references

        def on_new_websocket(ws: Any) -> None:
            update_references(ws)
            self.watch(ws)

        state._update_references = on_new_websocket  # discord.py calls it for each new websocket, before HELLO

    def _guarded_parser(self, name: str, parse: Callable[[Any], None]) -> Callable[[Any], None]:
        def guarded(data: Any) -> None:
            try:
                parse(data)
            except Exception as exc:
                self._on_rejected(name, exc, data)

        return guarded

    def watch(self, ws: Any) -> None:
        """Guard ``ws.received_message``: a frame that cannot be read is dropped; the connection goes on."""
        receive: Callable[[Any], Awaitable[None]] = ws.received_message

        async def received_message(msg: Any, /) -> None:
            self.last_frame = self._now()
            self._raw = None
            try:
                await receive(msg)
            except _CONNECTION_ERRORS:
                raise
            except Exception as exc:
                self._on_rejected(self._frame_kind(), exc, None)

        def log_receive(raw: object, /) -> None:
            self._raw = raw  # the decompressed text, kept only to name a frame that fails

        ws.received_message = received_message
        ws.log_receive = log_receive

    def _frame_kind(self) -> str:
        """A bounded label for the frame that failed: its dispatch name when known, else its opcode or shape."""
        if not isinstance(self._raw, str | bytes):
            return "undecodable"
        try:
            frame = json.loads(self._raw)
        except (ValueError, RecursionError):
            return "invalid_json"
        if not isinstance(frame, dict):
            return "not_an_object"
        event, op = frame.get("t"), frame.get("op")
        if isinstance(event, str) and event in self._known:
            return event
        return f"op_{op}" if isinstance(op, int) and op in _OPCODES else "malformed"

    def last_frame_age(self) -> float | None:
        return None if self.last_frame is None else round(self._now() - self.last_frame, 1)


class ConnectionWatch:
    """Whether each shard's connection is up (``None`` is the one shard of an unsharded client), from the gateway
    events; a loss of a connection that was up is a disconnect, getting it back a reconnect (both counted)."""

    def __init__(self, counters: Counters, now: Callable[[], float] = time.monotonic) -> None:
        self._counters = counters
        self._now = now
        self._down: dict[int | None, float] = {}  # shard -> since when
        self._seen_up: set[int | None] = set()
        self.fatal: AdapterFatal | None = None
        self.disconnects = 0
        self.reconnects = 0

    def up(self, shard: int | None) -> bool:
        """READY or RESUMED on ``shard``; True when it was a reconnect."""
        reconnected = self._down.pop(shard, None) is not None and shard in self._seen_up
        self._seen_up.add(shard)
        if reconnected:
            self.reconnects += 1
            self._counters.count(
                "steward_adapter_reconnects_total", "Platform connections re-established", platform=PLATFORM
            )
        return reconnected

    def down(self, shard: int | None) -> bool:
        """The connection of ``shard`` was lost; True when it had been up (a disconnect, counted)."""
        if shard in self._down or shard not in self._seen_up:
            return False
        self._down[shard] = self._now()
        self.disconnects += 1
        self._counters.count("steward_adapter_disconnects_total", "Platform connections lost", platform=PLATFORM)
        return True

    def reason(self) -> str | None:
        """Why the connection is down now, or None when every shard that was up still is."""
        if self.fatal is not None:
            return self.fatal.problem
        if not self._down:
            return None
        since = min(self._down.values())
        shards = sorted(s for s in self._down if s is not None)
        which = f" (shards {shards})" if shards else ""
        return f"gateway connection lost {self._now() - since:.1f}s ago{which}; reconnecting"
