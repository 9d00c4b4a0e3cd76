"""The owner's buttons: ``steward:invite:<id>:approve|decline`` and ``steward:draft:<id>:approve|edit|reject``.

The core routes these prefixes here (``ctx.add_interaction``); only the agent's owner's click counts, anyone else
and any malformed button get a private answer saying so.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from bot.actions import Action
from bot.cog import CogContext
from bot.interactions import Click, answer
from cogs.presence.config import PresenceSettings
from cogs.presence.coordinator import Coordinator
from cogs.presence.drafts import DraftDesk
from cogs.presence.errors import NotOwner, PresenceError, is_owner
from cogs.presence.text import owner
from domain import Actor
from storage.presence import DraftStatus, PresenceStore

NOT_VALID = "This button is not valid."

Choice = Callable[[int, Actor], Awaitable[str]]


class Buttons:
    def __init__(
        self, ctx: CogContext[PresenceSettings], store: PresenceStore, coordinator: Coordinator, drafts: DraftDesk
    ) -> None:
        self.ctx = ctx
        self.store = store
        self.coordinator = coordinator
        self.drafts = drafts
        self._invite: dict[str, Choice] = {"approve": self._approve_invitation, "decline": self._decline_invitation}
        self._draft: dict[str, Choice] = {
            "approve": self._approve_draft,
            "reject": self._reject_draft,
            "edit": self._edit_draft,
        }

    async def invite(self, click: Click) -> Sequence[Action]:
        return [answer(click.press, await self._decide(click, self._invite, "invitation"))]

    async def draft(self, click: Click) -> Sequence[Action]:
        return [answer(click.press, await self._decide(click, self._draft, "draft"))]

    async def _decide(self, click: Click, choices: dict[str, Choice], what: str) -> str:
        """The text to answer the click with, once its choice is carried out (or refused)."""
        try:
            ident = int(click.key)
        except ValueError:
            self.coordinator.notify.rejected("button", "bad_key")
            return NOT_VALID
        choice = choices.get(click.choice)
        if choice is None:
            self.coordinator.notify.rejected("button", "bad_choice")
            return NOT_VALID
        try:
            return await choice(ident, click.press.actor)
        except NotOwner as exc:
            self.coordinator.notify.rejected("button", "not_owner")
            return f"Only {owner(exc.record)} can decide this {what}."
        except PresenceError as exc:
            return str(exc)

    async def _approve_invitation(self, ident: int, actor: Actor) -> str:
        return (await self.coordinator.approve(ident, actor))[0]

    async def _decline_invitation(self, ident: int, actor: Actor) -> str:
        return (await self.coordinator.decline(ident, actor))[0]

    async def _approve_draft(self, ident: int, actor: Actor) -> str:
        return (await self.drafts.approve(ident, actor)).text

    async def _reject_draft(self, ident: int, actor: Actor) -> str:
        return (await self.drafts.reject(ident, actor)).text

    async def _edit_draft(self, ident: int, actor: Actor) -> str:
        """An edit is typed, not clicked: say how, if the draft is still the owner's to decide."""
        draft = await self.store.drafts.get(ident)
        record = await self.ctx.agents.get(draft.agent) if draft else None
        if draft is None or record is None:
            raise PresenceError(f"there is no draft #{ident}")
        if not is_owner(record, actor):
            raise NotOwner(record)
        if draft.status is not DraftStatus.PENDING:
            return f"Draft #{ident} was already decided ({draft.status.value})."
        return f"Send the replacement with: draft edit {ident} <new text>"
