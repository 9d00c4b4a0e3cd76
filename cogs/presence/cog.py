"""The presence cog: wires presence's parts into the core.

It builds the store, the coordinator (invitations, joins and leaves), the drafts desk, the agent API and its
outbox; registers the timers (and repairs what a crash left, ``repair.py``), the drafts holder, the owner's buttons
(``invite``, ``draft``), the services it offers (``AgentDirectory``, ``DraftReview``), the health probe and the API
routes. Its commands and listeners live in ``commands/`` and ``listeners.py`` as mixins of this class.
"""

from __future__ import annotations

from typing import Any, ClassVar

from bot.cog import Cog, CogContext
from bot.services import AgentDirectory, DraftReview
from cogs.presence.api import AgentApi
from cogs.presence.buttons import Buttons
from cogs.presence.commands import AgentCommands, DraftCommands, InvitationCommands, RoomCommands
from cogs.presence.config import PresenceSettings
from cogs.presence.coordinator import EXPIRY_TIMER, RETRY_TIMER, Coordinator
from cogs.presence.drafts import DRAFT_TIMER, DraftDesk
from cogs.presence.impersonation import MemberNames, MemberWatch, NameGuard
from cogs.presence.listeners import PresenceListeners
from cogs.presence.outbox import Outbox
from cogs.presence.repair import repair
from storage.presence import PresenceStore


class Directory:
    """The ``AgentDirectory`` service: what the registered agents help with."""

    def __init__(self, store: PresenceStore) -> None:
        self.store = store

    async def topics(self) -> dict[str, list[str]]:
        return {s.agent: list(s.topics) for s in await self.store.settings.all() if s.topics}


class PresenceCog(
    AgentCommands,
    InvitationCommands,
    RoomCommands,
    DraftCommands,
    PresenceListeners,
    MemberWatch,
    Cog[PresenceSettings],
):
    name: ClassVar[str] = "presence"

    def __init__(self, ctx: CogContext[PresenceSettings]) -> None:
        super().__init__(ctx)
        self.store = PresenceStore.open(ctx.db, store_text=ctx.settings.database.store_message_text)
        self.coordinator = Coordinator(ctx, self.store)
        self.drafts = DraftDesk(ctx, self.store, self.coordinator.facts, self.coordinator.notify)
        self.outbox = Outbox(ctx, self.store)
        self.member_names = MemberNames()
        self.names = NameGuard(ctx, self.member_names)
        self.api = AgentApi(ctx, self.store, self.coordinator, self.outbox, self.names)
        self.buttons = Buttons(ctx, self.store, self.coordinator, self.drafts)
        self.coordinator.notify.event_sink = self.outbox.push

    async def cog_load(self) -> None:
        await PresenceStore.migrate(self.ctx.db)
        await self.coordinator.roster.load()
        await self.outbox.load()
        self.ctx.add_timer_handler(EXPIRY_TIMER, self.coordinator.expire)
        self.ctx.add_timer_handler(RETRY_TIMER, self.coordinator.retry)
        self.ctx.add_timer_handler(DRAFT_TIMER, self.drafts.expire)
        await repair(self.ctx, self.store)
        self.ctx.add_holder(self.drafts)
        self.ctx.add_interaction("invite", self.buttons.invite)
        self.ctx.add_interaction("draft", self.buttons.draft)
        self.ctx.provide(AgentDirectory, Directory(self.store))
        self.ctx.provide(DraftReview, self.drafts)
        self.ctx.add_health("presence", self._health)
        self.ctx.add_routes(self.api.routes())

    async def cog_unload(self) -> None:
        await self.outbox.close()

    def _health(self) -> dict[str, Any]:
        present, api_agents = self.coordinator.roster.count(), len(self.outbox.api_agents)
        return {"up": True, "agents_present": present, "api_agents": api_agents}
