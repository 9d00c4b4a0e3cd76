"""Finding a Slack channel by name (``FindChannel``): ``/steward invite helper #general`` names a channel the way
people see it, while Slack's API wants its id.

``conversations.list`` pages through the channels the bot can see (public and the private ones it is in); the
names of a workspace are kept for ``CACHE_SECONDS`` so a burst of commands makes one listing. A name that is not
there after a fresh listing is refused with Slack's view of it, never taken for an id.
"""

from __future__ import annotations

import time

from adapters.slack.web import WebApi
from adapters.slack.workspaces import Workspaces
from bot.actions import ActionResult, FindChannel
from bot.adapter import performs
from bot.logging import get_logger

log = get_logger("steward.slack")

CACHE_SECONDS = 60.0
PAGE_SIZE = 200
MAX_PAGES = 25  # 5,000 channels: beyond that a workspace should link channels, not name them


class ChannelLookup:
    """The ``FindChannel`` performer, mixed into the Slack adapter (which sets ``web`` and ``workspaces``)."""

    web: WebApi
    workspaces: Workspaces

    def _name_cache(self) -> dict[str, tuple[float, dict[str, str]]]:
        cache: dict[str, tuple[float, dict[str, str]]] | None = getattr(self, "_channel_names", None)
        if cache is None:
            cache = {}
            self._channel_names = cache
        return cache

    async def _names(self, team: str, *, fresh: bool) -> tuple[dict[str, str] | None, str | None, bool]:
        """Channel name -> id for the workspace (also id -> id, so an id given as a name is found), an error, and
        whether the names came from the cache."""
        cached = self._name_cache().get(team)
        if cached is not None and not fresh and time.monotonic() - cached[0] < CACHE_SECONDS:
            return cached[1], None, True
        client, error = await self.workspaces.client(team)
        if client is None:
            return None, error, False
        names: dict[str, str] = {}
        cursor = ""
        for _ in range(MAX_PAGES):
            outcome = await self.web.call(
                client,
                "conversations_list",
                types="public_channel,private_channel",
                exclude_archived=True,
                limit=PAGE_SIZE,
                **({"cursor": cursor} if cursor else {}),
            )
            if not outcome.ok:
                return None, outcome.error, False
            for channel in outcome.data.get("channels") or []:
                if isinstance(channel, dict) and channel.get("id"):
                    names[str(channel.get("name") or "").lower()] = str(channel["id"])
                    names[str(channel["id"]).lower()] = str(channel["id"])
            cursor = str((outcome.data.get("response_metadata") or {}).get("next_cursor") or "")
            if not cursor:
                break
        self._name_cache()[team] = (time.monotonic(), names)
        return names, None, False

    @performs(FindChannel)
    async def find_channel(self, action: FindChannel) -> ActionResult:
        wanted = action.name.removeprefix("#").strip().lower()
        names, error, cached = await self._names(action.server, fresh=False)
        if names is not None and wanted not in names and cached:  # a channel made since the listing
            names, error, _ = await self._names(action.server, fresh=True)
        if names is None:
            return ActionResult.failed(f"cannot list the workspace's channels: {error}")
        if wanted in names:
            return ActionResult(ok=True, channel_id=names[wanted])
        log.info("slack_channel_not_found", team=action.server, name=wanted)
        return ActionResult.failed("not among the channels Steward's bot can see; invite the bot to a private one")
