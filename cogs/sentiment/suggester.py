"""Suggestions: offer to invite a registered agent whose topics the room keeps talking about, and turn a click on
the offer into an ``InvitationRequested`` for the presence coordinator.

The matching itself (keywords, per-room match times) is ``suggestions.py``; this module decides when to offer
(cooldowns kept in the database, agents already here left out), posts the offer with its button and answers the
click. The agents' topics come from the presence cog's ``agent_directory`` service (looked up in one place,
``Suggester._directory``), else from ``[sentiment.suggestions.topics]``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bot.actions import Action, AnswerInteraction, Button, ButtonStyle, SendMessage, UpdatePrompt, button_id
from bot.events import ButtonPressed, InvitationRequested, MessageCreated
from bot.services import AgentDirectory
from cogs.sentiment.config import CONFIGS_KEPT, SentimentSettings
from cogs.sentiment.suggestions import RoomTopics, TopicIndex, load_topics
from domain import SYSTEM_ACTOR, ActorKind, Room
from storage.feedback import FeedbackStore

if TYPE_CHECKING:
    from bot.cog import CogContext

INTERACTION_KIND = "suggest"  # the <kind> of the offer's button: steward:suggest:<suggestion id>:invite


class Suggester:
    def __init__(self, ctx: CogContext, store: FeedbackStore) -> None:
        self.ctx = ctx
        self.store = store
        self.topics: dict[Room, RoomTopics] = {}
        # Agents never suggested for a room: those presence says joined it (until they leave), and those who spoke in
        # it lately (forgotten with the room's window, so both stay bounded).
        self.present: dict[Room, set[str]] = {}
        self.spoke: dict[Room, tuple[str, ...]] = {}  # a tuple, not a set: usually one or two names (56 bytes, not 216)
        self._config_indexes: dict[int, tuple[Any, TopicIndex]] = {}
        self._directory_index: TopicIndex | None = None
        self._directory_loaded_at = -math.inf
        self.topics_source = "config"
        self._m_suggest = ctx.metrics.counter(
            "steward_sentiment_suggestions_total", "Invitation suggestions", ["outcome"]
        )

    def _directory(self) -> Any:
        """The presence cog's agent directory (``async topics() -> {agent: [keywords]}``), or None."""
        return self.ctx.service(AgentDirectory)

    # --- who is in a room ------------------------------------------------------------------------------------------

    def joined(self, room: Room, agent: str) -> None:
        self.present.setdefault(room, set()).add(agent)

    def left(self, room: Room, agent: str) -> None:
        agents = self.present.get(room)
        if agents is not None:
            agents.discard(agent)
            if not agents:
                del self.present[room]

    def spoken(self, room: Room, agent: str) -> None:
        known = self.spoke.get(room, ())
        if agent not in known:
            self.spoke[room] = (*known, agent)

    def forget(self, room: Room) -> None:
        """The room's window was evicted: its matches and who spoke in it go with it."""
        self.topics.pop(room, None)
        self.spoke.pop(room, None)

    # --- offering --------------------------------------------------------------------------------------------------

    async def _index(self, cfg: SentimentSettings, now: float) -> TopicIndex:
        directory = self._directory()
        if directory is not None:
            if self._directory_index is not None and now - self._directory_loaded_at < (
                cfg.suggestions.directory_refresh_seconds
            ):
                return self._directory_index
            try:
                topics, source = await load_topics(directory, cfg.suggestions.topics)
            except Exception as exc:
                self._m_suggest.labels("directory_failed").inc()
                self.ctx.log.warning("agent_directory_failed", error=repr(exc))
            else:
                self._directory_index, self._directory_loaded_at = TopicIndex(topics), now
                self.topics_source = source
                return self._directory_index
        table = cfg.suggestions.topics
        cached = self._config_indexes.get(id(table))
        if cached is None or cached[0] is not table:
            if len(self._config_indexes) >= CONFIGS_KEPT:
                self._config_indexes.clear()
            cached = self._config_indexes[id(table)] = (table, TopicIndex(table))
        self.topics_source = "config"
        return cached[1]

    async def suggest(self, event: MessageCreated, cfg: SentimentSettings) -> Action | None:
        """A person's message: does the room now keep coming back to an absent agent's topics?"""
        if not cfg.suggestions.topics and self._directory() is None:
            return None  # nobody to suggest
        index = await self._index(cfg, event.at)
        state = self.topics.get(event.room)
        if not index and state is None:
            return None
        here = self.present.get(event.room, set()).union(self.spoke.get(event.room, ()))
        matches = {a: k for a, k in index.match(event.text).items() if a not in here}
        if state is None:
            if not matches:
                return None
            state = self.topics[event.room] = RoomTopics()
        candidates = state.observe(
            event.at,
            matches,
            min_matches=cfg.suggestions.min_matches,
            window_messages=cfg.window_messages,
            window_seconds=cfg.window_seconds,
        )
        if not state.hits:
            del self.topics[event.room]
        for candidate in candidates:
            # A candidate held back by a cooldown keeps its matches: the next matching message asks again.
            action = await self._offer(event, cfg, candidate.agent, candidate.keywords)
            if action is not None:
                state.reset(candidate.agent)
                return action
        return None

    async def _held_back(self, room: Room, agent: str, at: float, cfg: SentimentSettings) -> str | None:
        """Why no offer may be made now (a cooldown, an agent that is not registered), or None."""
        last = await self.store.last_suggestion_at(room.key)
        if last is not None and at - last < cfg.suggestions.cooldown_seconds:
            return "room_cooldown"
        last = await self.store.last_suggestion_at(room.key, agent)
        if last is not None and at - last < cfg.suggestions.agent_cooldown_seconds:
            return "agent_cooldown"
        if await self.ctx.agents.get(agent) is None:
            self.ctx.log.warning("suggested_agent_not_registered", agent=agent, room=room.key)
            return "unknown_agent"
        return None

    async def _offer(
        self, event: MessageCreated, cfg: SentimentSettings, agent: str, keywords: tuple[str, ...]
    ) -> Action | None:
        room = event.room
        held = await self._held_back(room, agent, event.at, cfg)
        if held is not None:
            self._m_suggest.labels(held).inc()
            return None
        suggestion_id = await self.store.add_suggestion(at=event.at, room=room.key, agent=agent, keywords=keywords)
        self._m_suggest.labels("posted").inc()
        self.ctx.log.info("agent_suggested", agent=agent, room=room.key, suggestion=suggestion_id, keywords=keywords)
        topics = ", ".join(keywords)
        button = Button(f"Invite {agent}", button_id(INTERACTION_KIND, suggestion_id, "invite"), ButtonStyle.PRIMARY)
        return SendMessage(
            room=room,
            text=f"This conversation keeps coming back to {topics}, which {agent} knows about. Invite {agent}?",
            buttons=(button,),
            system=True,
        )

    # --- the click -------------------------------------------------------------------------------------------------

    async def press(self, press: ButtonPressed, kind: str, key: str, choice: str) -> Sequence[Action] | None:
        """A click on an offer's button (``steward:suggest:<suggestion id>:invite``)."""
        platform = press.actor.platform

        def answer(text: str) -> list[Action]:
            if press.interaction_id is None:
                return []
            return [AnswerInteraction(target_platform=platform, interaction_id=press.interaction_id, text=text)]

        if choice != "invite" or not key.isdigit():
            self.ctx.metrics.rejected_input.labels("sentiment.button", "bad_custom_id").inc()
            self.ctx.log.warning("suggestion_button_unknown", custom_id=press.custom_id)
            return answer("This button is not one Steward knows.")
        suggestion = await self.store.suggestion(int(key))
        if suggestion is None:
            self.ctx.metrics.rejected_input.labels("sentiment.button", "unknown_suggestion").inc()
            return answer("This suggestion is no longer known.")
        if not await self.store.mark_clicked(suggestion.id, at=press.at, by=press.actor.key):
            return answer(f"{suggestion.agent} has already been invited from this suggestion.")
        room = Room.parse(suggestion.room)
        inviter = press.actor if press.actor.kind in (ActorKind.HUMAN, ActorKind.AGENT) else SYSTEM_ACTOR
        await self.ctx.bus.publish(
            InvitationRequested(
                at=press.at,
                agent=suggestion.agent,
                room=room,
                inviter=inviter,
                reason="Steward suggested it: the room was talking about " + ", ".join(suggestion.keywords),
            )
        )
        self._m_suggest.labels("clicked").inc()
        self.ctx.log.info("suggestion_taken", suggestion=suggestion.id, agent=suggestion.agent, by=press.actor.key)
        actions: list[Action] = answer(f"Invitation for {suggestion.agent} requested; its owner decides.")
        if press.message_id is not None:
            actions.append(
                UpdatePrompt(
                    target_platform=room.platform,
                    channel_id=press.room.channel if press.room is not None else room.channel,
                    message_id=press.message_id,
                    text=f"{press.actor.name} asked for {suggestion.agent} to join; waiting for its owner.",
                )
            )
        return actions
