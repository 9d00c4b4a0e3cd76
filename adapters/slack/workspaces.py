"""Which Slack workspace an action is for, and the token to act there with.

One bot token is the simple default. With OAuth, each action uses the bot token of the workspace it concerns: the
room's workspace; for a DM, the workspace where the user was last seen, else the installed workspace whose bot knows
the user; for a prompt update, the workspace of the DM channel Steward opened (kept in ``slack_dm_channels``).
"""

from __future__ import annotations

from collections.abc import Mapping

from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.config import SlackSettings
from adapters.slack.inbound import SelfIds
from adapters.slack.memory import TeamMemory
from adapters.slack.oauth import SQLiteInstallationStore
from adapters.slack.web import WebApi
from storage.slack import DmChannelRepository


class Workspaces:
    """Bot and admin clients per workspace, and the workspace of a channel or user."""

    def __init__(self, settings: SlackSettings, web: WebApi) -> None:
        self.settings = settings
        self.web = web
        self.seen = TeamMemory(enabled=settings.oauth)
        # Single workspace: the workspace and Steward's bot user and bot id there, from auth.test at start.
        self.team_id: str | None = None
        self.me = SelfIds(None, None)
        self.installations: SQLiteInstallationStore | None = None  # OAuth: set when the adapter is set up
        self.dm_channels: DmChannelRepository | None = None

    def self_ids(self, context: Mapping[str, object]) -> SelfIds:
        """Steward's ids in the workspace a payload came from (bolt's context has them under OAuth)."""
        user_id, bot_id = context.get("bot_user_id"), context.get("bot_id")
        return SelfIds(
            user_id if isinstance(user_id, str) and user_id else self.me.bot_user_id,
            bot_id if isinstance(bot_id, str) and bot_id else self.me.bot_id,
        )

    def _installed(self) -> SQLiteInstallationStore:
        if self.installations is None:
            raise RuntimeError("the Slack adapter serves several workspaces but has no installation store yet")
        return self.installations

    async def client(self, team_id: str | None) -> tuple[AsyncWebClient | None, str | None]:
        """The bot client for ``team_id``, or an error saying why there is none."""
        if not self.settings.oauth:
            return self.web.client(self.settings.secret("bot_token")), None
        installations = self._installed()
        if not team_id:
            teams = await installations.repository.teams()
            if len(teams) != 1:
                return None, "cannot tell which Slack workspace this action is for"
            team_id = teams[0]
        enterprise = self.seen.enterprise_of.get(team_id)
        bot = await installations.async_find_bot(enterprise_id=enterprise, team_id=team_id)
        if bot is None or not bot.bot_token:
            return None, f"Steward is not installed in Slack workspace {team_id}"
        return self.web.client(bot.bot_token), None

    async def admin_client(self, team_id: str | None) -> AsyncWebClient | None:
        """A client with a user token allowed to delete others' messages, when one is configured or installed."""
        if not self.settings.oauth:
            token = self.settings.secret("admin_token")
            return self.web.client(token) if token else None
        if not team_id:
            return None
        installation = await self._installed().async_find_installation(
            enterprise_id=self.seen.enterprise_of.get(team_id), team_id=team_id
        )
        return (
            self.web.client(installation.user_token) if installation is not None and installation.user_token else None
        )

    async def of_channel(self, channel_id: str) -> str | None:
        if not self.settings.oauth:
            return self.team_id
        known = self.seen.channel_team.get(channel_id)
        if known is not None or self.dm_channels is None:
            return known
        return await self.dm_channels.team_of(channel_id)

    async def of_user(self, user_id: str) -> str | None:
        """The workspace a user belongs to: where they were last seen, else (several workspaces installed) the first
        installation whose bot can see them."""
        known = self.seen.user_team.get(user_id)
        if known is not None or not self.settings.oauth:
            return known or self.team_id
        teams = await self._installed().repository.teams()
        if len(teams) == 1:
            return teams[0]
        for team in teams:
            client, _error = await self.client(team)
            if client is None:
                continue
            try:
                await client.users_info(user=user_id)
            except Exception:  # user_not_found in the other workspaces is the expected answer
                continue
            self.seen.saw_user(user_id, team)
            return team
        return None

    async def opened_dm(self, channel: str, team: str | None, user_id: str, at: float) -> None:
        """Multi-workspace: remember the workspace of a DM channel Steward opened (it outlives a restart)."""
        if not self.settings.oauth or not team or not channel:
            return
        self.seen.saw_channel(channel, team)
        if self.dm_channels is not None:
            await self.dm_channels.record(channel_id=channel, team_id=team, user_id=user_id, opened_at=at)
