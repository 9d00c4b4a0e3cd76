"""Every room as the conversation moderator knows it: the in-memory state of active rooms, the modes and agent
styles (cached from ``storage.conversation``), the registered agents and their topics, and the ``RoomView`` the
rules read.

Topics come from the config and from the presence cog's ``agent_directory`` service (looked up in one place,
``Rooms._directory``).
"""

from __future__ import annotations

import itertools
import re
import time
from collections import OrderedDict
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from bot.services import AgentDirectory
from cogs.conversation.config import ConversationSettings
from cogs.conversation.metrics import ConversationMetrics
from cogs.conversation.state import RoomState
from domain import Room
from policy.conversation import AgentName, Mode, RoomView, compile_patterns
from policy.conversation_features import name_index, topic_index
from policy.conversation_index import NameIndex, TopicIndex
from storage.conversation import MODERATOR, AgentStyleRecord, ConversationStore, RoomModeRecord
from storage.core import AgentRecord

if TYPE_CHECKING:
    from bot.cog import CogContext

AGENT_REFRESH_SECONDS = 30.0
_TOPIC_FORMS = 64  # merged topics kept for this many forms of the section (rooms with overrides have their own)


def agent_name(record: AgentRecord) -> AgentName:
    return AgentName(record.name, tuple(a for a in (record.display_name, record.platform_user_id or "") if a))


def _limits(style: AgentStyleRecord) -> bool:
    """Whether a style record limits its agent (a brief style or a rate)."""
    return style.style not in (None, "normal") or bool(style.max_per_minute)


class Rooms:
    def __init__(self, ctx: CogContext, store: ConversationStore, metrics: ConversationMetrics) -> None:
        self.ctx = ctx
        self.store = store
        self.metrics = metrics
        # Least recently active first: beyond ``max_rooms`` the front is forgotten.
        self.states: OrderedDict[str, RoomState] = OrderedDict()
        self.modes: dict[str, RoomModeRecord] = {}
        self.styles: dict[str, dict[str, AgentStyleRecord]] = {}  # room key -> agent -> style
        self.agents: dict[str, AgentName] = {}
        self._agents_loaded_at: float | None = None
        self._directory_topics: dict[str, tuple[str, ...]] = {}
        self._patterns: dict[tuple[str, ...], tuple[re.Pattern[str], ...]] = {}
        # Built once per roster and per set of topics, not per message: a message's cost does not grow with them.
        self._names: NameIndex | None = None
        # id(section) -> (the section, its merged topics, their index); the section is kept so its id stays its own
        self._topics: dict[int, tuple[ConversationSettings, Mapping[str, tuple[str, ...]], TopicIndex]] = {}

    async def load(self) -> None:
        """Modes and styles from the database; rooms whose mode the moderator set get a state again, so that the
        mode still lapses when they stay idle after a restart."""
        self.modes = {r.room: r for r in await self.store.modes()}
        for style in await self.store.agent_styles():
            self.styles.setdefault(style.room, {})[style.agent] = style
        await self.refresh_agents(force=True)
        for record in self.modes.values():
            if record.set_by == MODERATOR and record.mode != Mode.OPEN:
                try:
                    room = Room.parse(record.room)
                except ValueError:
                    continue
                self.state(room, record.set_at)

    # --- lookups ---------------------------------------------------------------------------------------------------

    def cfg(self, room: Room) -> ConversationSettings:
        config: ConversationSettings = self.ctx.config(room)
        return config

    def state(self, room: Room, now: float) -> RoomState:
        key = room.key
        state = self.states.get(key)
        if state is not None:
            self.states.move_to_end(key)
            return state
        cfg = self.cfg(room)
        self._make_room(cfg.max_rooms, now)
        state = self.states[key] = RoomState(room, cfg.window_messages, now)
        self.metrics.rooms.set(len(self.states))
        return state

    def _make_room(self, max_rooms: int, now: float) -> None:
        """Forget the least recently active rooms (not one a message is being handled in) until one more fits."""
        if len(self.states) < max_rooms:
            return
        excess = len(self.states) - max_rooms + 1
        idlest = [k for k, s in itertools.islice(self.states.items(), excess + 16) if not s.lock.locked()]
        for key in idlest[:excess]:
            self.evict(key, now, reason="capacity")

    def mode_of(self, room: Room) -> Mode:
        record = self.modes.get(room.key)
        if record is None:
            return Mode(self.cfg(room).default_mode)
        return Mode(record.mode)

    def agent_style(self, room_key: str, agent: str) -> AgentStyleRecord | None:
        return self.styles.get(room_key, {}).get(agent)

    def compiled(self, cfg: ConversationSettings) -> tuple[re.Pattern[str], ...]:
        key = tuple(cfg.action_item_patterns)
        found = self._patterns.get(key)
        if found is None:
            found = self._patterns[key] = compile_patterns(key)
        return found

    # --- agents and their topics -----------------------------------------------------------------------------------

    def _directory(self) -> Any:
        """The presence cog's agent directory (``async topics() -> {agent: [keywords]}``), or None."""
        return self.ctx.service(AgentDirectory)

    async def refresh_agents(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and self._agents_loaded_at is not None and now - self._agents_loaded_at < AGENT_REFRESH_SECONDS:
            return
        self._agents_loaded_at = now
        directory = self._directory()
        if directory is not None:
            try:
                found = await directory.topics()
                topics = {str(a): tuple(str(k) for k in words) for a, words in found.items()}
                if topics != self._directory_topics:
                    self._directory_topics = topics
                    self._topics.clear()
            except Exception as exc:
                self.ctx.log.warning("conversation_agent_directory_failed", error=repr(exc))
        records = await self.ctx.agents.list()
        agents = {r.name: agent_name(r) for r in records}
        if agents != self.agents:
            self.agents = agents
            self._names = None

    async def know_agent(self, name: str) -> None:
        """An agent that speaks but was registered since the last refresh is looked up now."""
        if name in self.agents:
            return
        record = await self.ctx.agents.get(name)
        if record is not None:
            self.agents[record.name] = agent_name(record)
            self._names = None

    def names(self) -> NameIndex:
        """The registered agents' names and aliases, indexed (rebuilt only when the roster changed)."""
        if self._names is None:
            self._names = name_index(self.agents.values())
        return self._names

    def _merged_topics(self, cfg: ConversationSettings) -> tuple[Mapping[str, tuple[str, ...]], TopicIndex]:
        cached = self._topics.get(id(cfg))
        if cached is not None and cached[0] is cfg:
            return cached[1], cached[2]
        merged = dict(self._directory_topics)
        merged.update({a: tuple(k) for a, k in cfg.topics.items()})
        topics = MappingProxyType({a: k for a, k in merged.items() if k})
        if len(self._topics) >= _TOPIC_FORMS:
            self._topics.clear()
        self._topics[id(cfg)] = (cfg, topics, topic_index(topics))
        return topics, self._topics[id(cfg)][2]

    def topics(self, cfg: ConversationSettings) -> Mapping[str, tuple[str, ...]]:
        """Topics per agent: what the agents' owners told the presence cog, with the config on top. (An invitation
        for an agent that is not registered is refused when it is checked, not here.)"""
        return self._merged_topics(cfg)[0]

    def topic_index(self, cfg: ConversationSettings) -> TopicIndex:
        """``topics(cfg)``, indexed for reading messages."""
        return self._merged_topics(cfg)[1]

    # --- the room as the rules see it ------------------------------------------------------------------------------

    def human_override(self, record: RoomModeRecord | None, now: float, cfg: ConversationSettings) -> bool:
        """A human set the mode within ``human_override_seconds``: the moderator leaves it alone."""
        return (
            record is not None
            and record.set_by not in (MODERATOR, "default")
            and now - record.set_at < cfg.human_override_seconds
        )

    def view(self, state: RoomState, now: float, cfg: ConversationSettings) -> RoomView:
        record = self.modes.get(state.room.key)
        by_moderator = record is not None and record.set_by == MODERATOR
        return RoomView(
            now=now,
            mode=Mode(record.mode) if record else Mode(cfg.default_mode),
            mode_set_by=record.set_by if record else "default",
            mode_signal=record.signal if record is not None and by_moderator else "",
            turns=tuple(state.turns),
            last_activity=state.last_activity,
            toxicity=dict(state.toxicity),
            trends=tuple(state.trends),
            open_questions=tuple(state.open_questions.values()),
            present_agents=frozenset(state.present),
            topics=self.topics(cfg),
            action_items=tuple(state.action_items),
            human_override=self.human_override(record, now, cfg),
            styled_agents=frozenset(
                agent
                for agent, style in self.styles.get(state.room.key, {}).items()
                if style.set_by == MODERATOR and _limits(style)
            ),
        )

    # --- changes ---------------------------------------------------------------------------------------------------

    async def set_mode(self, room: Room, mode: Mode, *, set_by: str, signal: str, reason: str, at: float) -> None:
        await self.store.set_mode(room.key, mode.value, set_by=set_by, signal=signal, reason=reason, at=at)
        self.modes[room.key] = RoomModeRecord(room.key, mode.value, set_by, signal, reason, at)
        state = self.states.get(room.key)
        if state is not None:
            state.streaks.clear()

    async def set_style(
        self, room: Room, agent: str, *, style: str | None, rate: int | None, set_by: str, reason: str, at: float
    ) -> AgentStyleRecord:
        record = await self.store.set_agent_style(
            room.key, agent, style=style, max_per_minute=rate, set_by=set_by, reason=reason, at=at
        )
        self.styles.setdefault(room.key, {})[agent] = record
        return record

    def evict(self, key: str, now: float, *, reason: str = "idle") -> None:
        state = self.states.pop(key, None)
        if state is not None:
            self.ctx.log.info(
                "conversation_room_evicted", room=key, reason=reason, idle_seconds=round(now - state.last_activity)
            )
