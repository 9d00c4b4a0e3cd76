"""Multi-workspace installs: slack-sdk's installation store and OAuth state store on Steward's SQLite database."""

from __future__ import annotations

import logging
import secrets
import time
from typing import Any

from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore

from bot.logging import get_logger
from storage.slack import OAuthStateRepository, SlackInstallationRepository, StoredInstallation

log = get_logger("steward.slack.oauth")

_BOT_FIELDS = (
    "app_id",
    "enterprise_id",
    "enterprise_name",
    "team_id",
    "team_name",
    "bot_token",
    "bot_id",
    "bot_user_id",
    "bot_scopes",
    "bot_refresh_token",
    "bot_token_expires_at",
    "is_enterprise_install",
    "installed_at",
    "custom_values",
)


def _installation_data(installation: Installation) -> dict[str, Any]:
    data = dict(vars(installation))
    data.pop("bot_token_expires_in", None)
    data.pop("user_token_expires_in", None)
    return data


def _bot_data(bot: Bot) -> dict[str, Any]:
    data = dict(vars(bot))
    data.pop("bot_token_expires_in", None)
    return {k: v for k, v in data.items() if k in _BOT_FIELDS}


class SQLiteInstallationStore(AsyncInstallationStore):
    """Installations and bots kept in the ``slack_installations`` / ``slack_bots`` tables."""

    def __init__(self, repository: SlackInstallationRepository) -> None:
        self.repository = repository
        self._logger = logging.getLogger("steward.slack.installations")

    @property
    def logger(self) -> logging.Logger:
        return self._logger

    async def async_save(self, installation: Installation) -> None:
        await self.repository.save_installation(
            enterprise_id=installation.enterprise_id,
            team_id=installation.team_id,
            user_id=installation.user_id,
            is_enterprise_install=bool(installation.is_enterprise_install),
            installed_at=float(installation.installed_at),
            data=_installation_data(installation),
        )
        await self.async_save_bot(installation.to_bot())
        log.info(
            "slack_installation_saved",
            team=installation.team_id,
            enterprise=installation.enterprise_id,
            user=installation.user_id,
        )

    async def async_save_bot(self, bot: Bot) -> None:
        await self.repository.save_bot(
            enterprise_id=bot.enterprise_id,
            team_id=bot.team_id,
            is_enterprise_install=bool(bot.is_enterprise_install),
            installed_at=float(bot.installed_at),
            data=_bot_data(bot),
        )

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        found = await self.repository.latest_bot(
            enterprise_id=enterprise_id, team_id=team_id, is_enterprise_install=bool(is_enterprise_install)
        )
        return Bot(**found.data) if found is not None else None

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        found = await self.repository.latest_installation(
            enterprise_id=enterprise_id,
            team_id=team_id,
            user_id=user_id,
            is_enterprise_install=bool(is_enterprise_install),
        )
        if found is None:
            return None
        installation = Installation(**found.data)
        if user_id:
            # The user's own row may be older than the workspace's latest bot install: use the newest bot token.
            latest = await self.repository.latest_installation(
                enterprise_id=enterprise_id,
                team_id=team_id,
                user_id=None,
                is_enterprise_install=bool(is_enterprise_install),
            )
            if latest is not None and latest.installed_at > found.installed_at:
                installation = _with_bot_of(installation, latest)
        return installation

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        count = await self.repository.delete_bot(enterprise_id=enterprise_id, team_id=team_id)
        log.info("slack_bot_deleted", team=team_id, enterprise=enterprise_id, rows=count)

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        count = await self.repository.delete_installation(enterprise_id=enterprise_id, team_id=team_id, user_id=user_id)
        log.info("slack_installation_deleted", team=team_id, enterprise=enterprise_id, user=user_id, rows=count)


def _with_bot_of(installation: Installation, latest: StoredInstallation) -> Installation:
    data = _installation_data(installation)
    for key in ("bot_token", "bot_id", "bot_user_id", "bot_scopes", "bot_refresh_token", "bot_token_expires_at"):
        data[key] = latest.data.get(key)
    return Installation(**data)


class SQLiteOAuthStateStore(AsyncOAuthStateStore):
    """One-time ``state`` values of the OAuth install flow, in ``slack_oauth_states``."""

    def __init__(self, repository: OAuthStateRepository, expiration_seconds: int = 600) -> None:
        self.repository = repository
        self.expiration_seconds = expiration_seconds
        self._logger = logging.getLogger("steward.slack.oauth_state")

    @property
    def logger(self) -> logging.Logger:
        return self._logger

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        state = secrets.token_urlsafe(24)
        await self.repository.issue(state, time.time() + self.expiration_seconds)
        return state

    async def async_consume(self, state: str) -> bool:
        valid = await self.repository.consume(state, time.time())
        if not valid:
            log.warning("slack_oauth_state_refused")
        return valid
