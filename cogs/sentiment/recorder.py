"""The feedback store's front door, and explicit feedback.

``FeedbackRecorder.record`` stores *every* ``FeedbackRecorded`` on the bus, whoever sent it (refusing invalid
events, counted), and forwards the stored row to the webhook when one is configured (re-sending at start what an
earlier run still owed it). ``FeedbackRecorder.reaction`` turns a person's reaction on an agent's message into a
``FeedbackRecorded`` (source ``explicit.reaction``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from cachetools import LRUCache

from bot.events import FeedbackRecorded, ReactionAdded
from cogs.sentiment.config import CONFIGS_KEPT, SentimentSettings
from cogs.sentiment.forwarder import WebhookForwarder
from domain import ActorKind, Room
from policy.feedback import reaction_reward, reaction_table
from storage.feedback import FeedbackRow, FeedbackStore, InvalidFeedback

if TYPE_CHECKING:
    from bot.cog import CogContext

REACTION_SOURCE = "explicit.reaction"
REACTIONS_REMEMBERED = 10_000


class FeedbackRecorder:
    def __init__(self, ctx: CogContext, store: FeedbackStore, cfg: SentimentSettings) -> None:
        self.ctx = ctx
        self.store = store
        self.forwarder: WebhookForwarder | None = None
        # message id -> agent, for reactions on messages whose event does not name their author
        self.agent_messages: LRUCache[str, str] = LRUCache(maxsize=cfg.feedback.recent_agent_messages)
        self._reacted: LRUCache[tuple[str, str, str], None] = LRUCache(maxsize=REACTIONS_REMEMBERED)
        self._reaction_tables: dict[int, tuple[Mapping[str, float], dict[str, float]]] = {}
        m = ctx.metrics
        self._m_feedback = m.counter("steward_feedback_total", "Feedback events stored", ["source"])
        self._m_rejected = m.counter("steward_feedback_rejected_total", "Feedback events refused", ["reason"])

    async def start(self, cfg: SentimentSettings) -> None:
        """Start the webhook sender, if one is configured, and queue what is still owed to it."""
        if not cfg.webhook.url:
            return
        self.forwarder = WebhookForwarder(
            cfg.webhook.url,
            self.ctx.metrics,
            timeout=cfg.webhook.timeout_seconds,
            max_attempts=cfg.webhook.max_attempts,
            backoff=cfg.webhook.backoff_seconds,
            queue_size=cfg.webhook.queue_size,
            on_delivered=self._delivered,
        )
        await self.forwarder.start()
        owed = await self.store.pending_forward(limit=cfg.webhook.queue_size)
        for row in owed:
            self.forwarder.submit(row.as_json())
        if owed:
            self.ctx.log.info("webhook_redelivery_queued", count=len(owed))

    async def stop(self) -> None:
        if self.forwarder is not None:
            await self.forwarder.stop()

    @property
    def pending(self) -> int:
        return self.forwarder.pending if self.forwarder else 0

    # --- the store -------------------------------------------------------------------------------------------------

    async def record(self, event: FeedbackRecorded) -> int | None:
        room = event.room.key if isinstance(event.room, Room) else None
        try:
            row_id = await self.store.record(
                at=event.at,
                agent=event.agent,
                reward=event.reward,
                source=event.source,
                room=room,
                users=event.users,
                context=event.context,
                recorded_at=self.ctx.clock.now(),
                forward=self.forwarder is not None,
            )
        except InvalidFeedback as exc:
            self._m_rejected.labels(exc.reason).inc()
            self.ctx.log.warning(
                "feedback_rejected",
                agent=event.agent,
                source=event.source,
                room=room,
                reason=exc.reason,
                error=str(exc),
            )
            return None
        self._m_feedback.labels(event.source).inc()
        self.ctx.log.info(
            "feedback_recorded", id=row_id, agent=event.agent, reward=event.reward, source=event.source, room=room
        )
        if self.forwarder is not None:
            self.forwarder.submit(_row(row_id, event, room).as_json())
        return row_id

    async def _delivered(self, payload: Mapping[str, Any]) -> None:
        row_id = payload.get("id")
        if isinstance(row_id, int):
            await self.store.mark_forwarded(row_id)

    # --- explicit feedback -----------------------------------------------------------------------------------------

    def remember_agent_message(self, message_id: str, agent: str) -> None:
        self.agent_messages[message_id] = agent

    def _reactions(self, cfg: SentimentSettings) -> dict[str, float]:
        table = cfg.feedback.reactions
        cached = self._reaction_tables.get(id(table))
        if cached is None or cached[0] is not table:
            if len(self._reaction_tables) >= CONFIGS_KEPT:
                self._reaction_tables.clear()
            cached = self._reaction_tables[id(table)] = (table, reaction_table(table))
        return cached[1]

    def _agent_of(self, event: ReactionAdded) -> str | None:
        target = event.message_author
        if target is not None and target.is_agent:
            return target.id
        return self.agent_messages.get(event.message_id)

    async def reaction(self, event: ReactionAdded, cfg: SentimentSettings) -> None:
        """A person's reaction on an agent's message, once per person, message and emoji."""
        if event.actor.kind is not ActorKind.HUMAN or not cfg.enabled:
            return
        agent = self._agent_of(event)
        if agent is None:
            return
        value = reaction_reward(event.emoji, self._reactions(cfg))
        if value is None:
            return
        key = (event.message_id, event.actor.id, event.emoji)
        if key in self._reacted:
            return  # the platform delivered the same reaction twice
        self._reacted[key] = None
        await self.ctx.bus.dispatch(
            FeedbackRecorded(
                at=event.at,
                agent=agent,
                reward=value,
                source=REACTION_SOURCE,
                room=event.room,
                users=(event.actor.id,),
                context={"emoji": event.emoji, "message_id": event.message_id},
            )
        )


def _row(row_id: int, event: FeedbackRecorded, room: str | None) -> FeedbackRow:
    return FeedbackRow(
        id=row_id,
        at=event.at,
        agent=event.agent,
        reward=float(event.reward),
        source=event.source,
        room=room,
        users=tuple(str(u) for u in event.users),
        context=dict(event.context),
    )
