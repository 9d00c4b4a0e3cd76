"""The sentiment cog.

* Scores every message (VADER, the emotion lexicon; toxicity from the moderator's ``MessageScored``) into the
  room's window (``windows.py``), closes windows into trends and publishes ``TrendShifted``.
* Implicit feedback: opens a turn when an agent speaks, attributes the human responses, and dispatches a
  ``FeedbackRecorded`` (source ``implicit.sentiment``) when the turn closes with a non-neutral reward.
* Explicit feedback: reactions on an agent's message (source ``explicit.reaction``).
* The feedback store: *every* ``FeedbackRecorded`` on the bus, whoever sent it, is stored here and optionally
  forwarded to a webhook.
* Suggestions: offers to invite an agent whose topics the room keeps talking about; a click publishes an
  ``InvitationRequested`` for the presence coordinator.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from bot.actions import Action, AnswerInteraction, Button, ButtonStyle, SendMessage, UpdatePrompt, button_id
from bot.cog import Cog, listener
from bot.commands import CommandError, CommandInvocation, command
from bot.events import (
    AgentJoined,
    AgentLeft,
    ButtonPressed,
    FeedbackRecorded,
    InvitationRequested,
    MemberLeft,
    MessageCreated,
    MessageScored,
    ReactionAdded,
    TrendShifted,
)
from cogs.sentiment.classifier import MessageClassifier
from cogs.sentiment.config import SentimentSettings
from cogs.sentiment.feedback import ClosedTurn, TurnBook
from cogs.sentiment.forwarder import WebhookForwarder
from cogs.sentiment.suggestions import RoomTopics, TopicIndex, load_topics
from cogs.sentiment.windows import ClosedWindow, RoomWindow, RoomWindows, hash32
from domain import SYSTEM_ACTOR, ActorKind, Room
from policy.feedback import reaction_reward, reaction_table, reward
from policy.sentiment import KIND_AGENT, KIND_BOT, KIND_HUMAN, WindowSummary
from storage.feedback import FeedbackRow, FeedbackStore, FeedbackSummary, InvalidFeedback

IMPLICIT_SOURCE = "implicit.sentiment"
REACTION_SOURCE = "explicit.reaction"
AGENT_DIRECTORY = "agent_directory"
ROOM_SENTIMENT = "room_sentiment"
TOXICITY_LABEL = "toxicity"
REACTIONS_REMEMBERED = 10_000


class SentimentCog(Cog):
    name = "sentiment"

    # --- lifecycle -------------------------------------------------------------------------------------------------

    async def cog_load(self) -> None:
        ctx = self.ctx
        cfg: SentimentSettings = ctx.config()
        self.store = FeedbackStore(ctx.db)
        await self.store.migrate()
        self.classifier = MessageClassifier()
        self.windows = RoomWindows(ctx.config, max_rooms=cfg.max_rooms, idle_seconds=cfg.idle_evict_seconds)
        self.topics: dict[Room, RoomTopics] = {}
        # Agents never suggested for a room: those presence says joined it (until they leave), and those who spoke in
        # it lately (forgotten with the room's window, so both stay bounded).
        self.present: dict[Room, set[str]] = {}
        self.spoke: dict[Room, set[str]] = {}
        self.agent_messages: OrderedDict[str, str] = OrderedDict()  # message id -> agent, for reactions
        self._agent_messages_max = cfg.feedback.recent_agent_messages
        self._reacted: OrderedDict[tuple[str, str, str], None] = OrderedDict()
        self._reaction_tables: dict[int, tuple[Mapping[str, float], dict[str, float]]] = {}
        self._config_indexes: dict[int, tuple[Mapping[str, Any], TopicIndex]] = {}
        self._directory_index: TopicIndex | None = None
        self._directory_loaded_at = -math.inf
        self.topics_source = "config"
        m = ctx.metrics
        self._m_messages = m.counter("steward_sentiment_messages_total", "Messages scored into windows", ["kind"])
        self._m_by_kind: dict[ActorKind, Any] = {}
        self._m_rooms = m.gauge("steward_sentiment_rooms", "Rooms with a window in memory", [])
        self._m_evicted = m.counter("steward_sentiment_evictions_total", "Room windows evicted", ["reason"])
        self._m_windows = m.counter("steward_sentiment_windows_total", "Windows closed into the trend", [])
        self._m_shifts = m.counter("steward_sentiment_trend_shifts_total", "Trend shifts reported", ["metric"])
        self._m_scores = m.counter("steward_sentiment_scores_total", "Toxicity scores received", ["outcome"])
        self._m_feedback = m.counter("steward_feedback_total", "Feedback events stored", ["source"])
        self._m_rejected = m.counter("steward_feedback_rejected_total", "Feedback events refused", ["reason"])
        self._m_neutral = m.counter("steward_feedback_neutral_total", "Agent turns closed without a reward", ["why"])
        self._m_suggest = m.counter("steward_sentiment_suggestions_total", "Invitation suggestions", ["outcome"])
        self.forwarder: WebhookForwarder | None = None
        if cfg.webhook.url:
            self.forwarder = WebhookForwarder(
                cfg.webhook.url,
                m,
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
                ctx.log.info("webhook_redelivery_queued", count=len(owed))
        ctx.every(cfg.sweep_seconds, self._sweep_job, job_id="sweep")
        ctx.add_health("sentiment", self._health)
        ctx.provide(ROOM_SENTIMENT, self)

    async def cog_unload(self) -> None:
        # The bus no longer delivers to us: finish what is open and store its feedback directly. (A cog_load that
        # failed half-way is unloaded too: only what it got to is there.)
        now = self.ctx.clock.now()
        windows: RoomWindows | None = getattr(self, "windows", None)
        for window in list(windows or ()):
            self.windows.pop(window.room)
            for closed_turn in self._close_room(window, now)[1]:
                event = self._reward_event(window.room, closed_turn)
                if event is not None:
                    await self._store(event)
        if getattr(self, "forwarder", None) is not None:
            await self.forwarder.stop()

    def _health(self) -> dict[str, Any]:
        return {
            "up": True,
            "rooms": len(self.windows),
            "webhook_pending": self.forwarder.pending if self.forwarder else 0,
            "topics": self.topics_source,
        }

    # --- messages --------------------------------------------------------------------------------------------------

    @listener(MessageCreated)
    async def on_message(self, event: MessageCreated) -> Action | None:
        author = event.author
        if author.kind is ActorKind.SYSTEM:
            return None
        cfg: SentimentSettings = self.ctx.config(event.room)
        if not cfg.enabled:
            return None
        kind = KIND_HUMAN if author.kind is ActorKind.HUMAN else KIND_AGENT if author.is_agent else KIND_BOT
        scores = self.classifier.score(event.text)
        window, evicted = self.windows.get(event.room, event.at)
        if evicted:
            await self._finish(evicted, event.at, current=event.room)
        at = max(event.at, window.last_at)
        book = TurnBook(span=window.span, responses=window.cap, max_open=cfg.feedback.max_open_turns)
        closed_turns: list[ClosedTurn] = book.expire(window.turns, at) if window.turns else []
        baseline = window.current(at) if kind == KIND_AGENT and cfg.feedback.implicit else None
        message = hash32(event.message_id)
        closed_windows = window.observe(
            at,
            hash32(author.id),
            kind,
            message,
            scores.compound,
            scores.pos,
            scores.neg,
            scores.anger,
            scores.frustration,
            scores.joy,
            scores.confusion,
            None,
            scores.words,
        )
        counter = self._m_by_kind.get(author.kind)
        if counter is None:
            counter = self._m_by_kind[author.kind] = self._m_messages.labels(author.kind.value)
        counter.inc()
        if kind == KIND_AGENT:
            self._remember_agent_message(event.message_id, author.id)
            self.spoke.setdefault(event.room, set()).add(author.id)
            if cfg.feedback.implicit:
                if window.turns is None:
                    window.turns = []
                closed_turns += book.open(window.turns, author.id, event.message_id, at, baseline)
        elif kind == KIND_HUMAN and window.turns:
            replied = event.reply_to_author
            turn = book.answer(
                window.turns,
                reply_to=event.reply_to,
                reply_to_agent=replied.id if replied is not None and replied.is_agent else None,
                mentions=event.mentions,
            )
            if turn is not None:
                turn.add(
                    at=at,
                    user=author.id,
                    message=message,
                    compound=scores.compound,
                    joy=scores.joy,
                    anger=scores.anger,
                    frustration=scores.frustration,
                    confusion=scores.confusion,
                    toxicity=None,
                )
        if evicted or window.size == 1:
            self._m_rooms.set(len(self.windows))
        if closed_windows:
            await self._emit_windows(closed_windows)
        if closed_turns:
            await self._emit_turns(event.room, closed_turns)
        if kind == KIND_HUMAN and cfg.suggestions.enabled:
            return await self._suggest(event, cfg)
        return None

    @listener(MessageScored)
    async def on_scored(self, event: MessageScored) -> None:
        value = event.scores.get(TOXICITY_LABEL)
        if value is None:  # a model without the usual label: its worst label stands for toxicity
            numbers = [v for v in event.scores.values() if isinstance(v, (int, float)) and not isinstance(v, bool)]
            value = max(numbers) if numbers else None
        if value is None or not isinstance(value, (int, float)) or not math.isfinite(value) or not 0 <= value <= 1:
            self._m_scores.labels("rejected").inc()
            self.ctx.log.warning("toxicity_score_rejected", room=event.room.key, message_id=event.message_id)
            return
        window = self.windows.peek(event.room)
        if window is None:
            self._m_scores.labels("no_window").inc()
            return
        message = hash32(event.message_id)
        found = window.attach_score(message, float(value))
        for turn in window.turns or ():
            turn.add_toxicity(message, float(value))
        self._m_scores.labels("attached" if found else "pending").inc()

    @listener(MemberLeft)
    async def on_member_left(self, event: MemberLeft) -> None:
        if event.member.kind is not ActorKind.HUMAN:
            return
        window = self.windows.peek(event.room)
        if window is not None and window.turns:
            window.turns[-1].left += 1

    @listener(AgentJoined)
    async def on_agent_joined(self, event: AgentJoined) -> None:
        self.present.setdefault(event.room, set()).add(event.agent)

    @listener(AgentLeft)
    async def on_agent_left(self, event: AgentLeft) -> None:
        agents = self.present.get(event.room)
        if agents is not None:
            agents.discard(event.agent)
            if not agents:
                del self.present[event.room]

    def _remember_agent_message(self, message_id: str, agent: str) -> None:
        self.agent_messages[message_id] = agent
        self.agent_messages.move_to_end(message_id)
        while len(self.agent_messages) > self._agent_messages_max:
            self.agent_messages.popitem(last=False)

    # --- windows, trends and turns ---------------------------------------------------------------------------------

    async def _emit_windows(self, closed: Iterable[ClosedWindow]) -> None:
        for item in closed:
            self._m_windows.inc()
            for shift in item.shifts:
                self._m_shifts.labels(shift.metric).inc()
                self.ctx.log.info(
                    "trend_shifted",
                    room=item.room.key,
                    metric=shift.metric,
                    before=round(shift.before, 4),
                    after=round(shift.after, 4),
                )
                await self.ctx.bus.publish(
                    TrendShifted(
                        at=item.summary.end, room=item.room, metric=shift.metric, before=shift.before, after=shift.after
                    )
                )

    def _reward_event(self, room: Room, closed: ClosedTurn) -> FeedbackRecorded | None:
        turn = closed.turn
        cfg: SentimentSettings = self.ctx.config(room)
        stats = turn.stats(closed.end)
        result = reward(
            turn.baseline,
            stats,
            cfg.feedback.weights.model_dump(),
            neutral_band=cfg.feedback.neutral_band,
            min_responses=cfg.feedback.min_responses,
        )
        if result is None:
            self._m_neutral.labels("no_response" if stats.messages == 0 and stats.left == 0 else "neutral").inc()
            return None
        return FeedbackRecorded(
            at=closed.end,
            agent=turn.agent,
            reward=result.value,
            source=IMPLICIT_SOURCE,
            room=room,
            users=tuple(turn.users),
            context={
                "emotion": result.emotion,
                "intensity": result.intensity,
                "message_id": turn.message_id,
                "responses": stats.messages,
                "speakers": stats.speakers,
                "left": stats.left,
                "closed_by": closed.why,
                "signals": dict(result.signals),
            },
        )

    async def _emit_turns(self, room: Room, closed: Iterable[ClosedTurn]) -> None:
        for item in closed:
            event = self._reward_event(room, item)
            if event is not None:
                # dispatch, not publish: the feedback must not be dropped by a full queue, and it is stored (by our
                # own listener) before the message that closed the turn is done.
                await self.ctx.bus.dispatch(event)

    def _close_room(self, window: RoomWindow, now: float) -> tuple[list[ClosedWindow], list[ClosedTurn]]:
        closed_windows = []
        if window.since_close and window.opened_at is not None:
            closed_windows.append(window.close(min(max(now, window.last_at), window.opened_at + window.span)))
        closed_turns = []
        if window.turns:
            book = TurnBook(span=window.span, responses=window.cap, max_open=len(window.turns) + 1)
            closed_turns = book.close_all(window.turns, now, "evicted")
        return closed_windows, closed_turns

    async def _finish(self, evicted: Iterable[RoomWindow], now: float, *, current: Room | None = None) -> None:
        """Close what an evicted room still had open: its window (trend) and its agents' turns (rewards)."""
        for window in evicted:
            self._m_evicted.labels("idle" if current is None or window.room == current else "capacity").inc()
            self.topics.pop(window.room, None)
            self.spoke.pop(window.room, None)
            closed_windows, closed_turns = self._close_room(window, now)
            await self._emit_windows(closed_windows)
            await self._emit_turns(window.room, closed_turns)

    async def sweep(self, now: float | None = None) -> None:
        """Evict idle rooms; close windows and turns whose time is up (also for rooms that went quiet)."""
        now = self.ctx.clock.now() if now is None else now
        await self._finish(self.windows.idle(now), now)
        for window in self.windows:
            closed_windows = [window.close(window.opened_at + window.span)] if window.due(now) else []
            window.prune(now)
            closed_turns: list[ClosedTurn] = []
            if window.turns:
                book = TurnBook(span=window.span, responses=window.cap, max_open=len(window.turns) + 1)
                closed_turns = book.expire(window.turns, now)
            await self._emit_windows(closed_windows)
            await self._emit_turns(window.room, closed_turns)
        self._m_rooms.set(len(self.windows))

    async def _sweep_job(self) -> None:
        try:
            await self.sweep()
        except Exception as exc:
            self.ctx.log.exception("sentiment_sweep_failed", error=repr(exc))

    def snapshot(self, room: Room, now: float | None = None) -> dict[str, Any] | None:
        """The room's window, average and last windows (the ``room_sentiment`` service other cogs may read)."""
        window = self.windows.peek(room)
        if window is None:
            return None
        at = self.ctx.clock.now() if now is None else now
        return {
            "window": window.current(max(at, window.last_at)),
            "average": window.average(),
            "history": window.history(),
        }

    # --- explicit feedback -----------------------------------------------------------------------------------------

    def _reactions(self, cfg: SentimentSettings) -> dict[str, float]:
        table = cfg.feedback.reactions
        cached = self._reaction_tables.get(id(table))
        if cached is None or cached[0] is not table:
            cached = self._reaction_tables[id(table)] = (table, reaction_table(table))
        return cached[1]

    @listener(ReactionAdded)
    async def on_reaction(self, event: ReactionAdded) -> None:
        if event.actor.kind is not ActorKind.HUMAN:
            return
        cfg: SentimentSettings = self.ctx.config(event.room)
        if not cfg.enabled:
            return
        target = event.message_author
        agent = target.id if target is not None and target.is_agent else self.agent_messages.get(event.message_id)
        if agent is None:
            return
        value = reaction_reward(event.emoji, self._reactions(cfg))
        if value is None:
            return
        key = (event.message_id, event.actor.id, event.emoji)
        if key in self._reacted:
            return  # the platform delivered the same reaction twice
        self._reacted[key] = None
        while len(self._reacted) > REACTIONS_REMEMBERED:
            self._reacted.popitem(last=False)
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

    # --- the feedback store ----------------------------------------------------------------------------------------

    @listener(FeedbackRecorded)
    async def on_feedback(self, event: FeedbackRecorded) -> None:
        await self._store(event)

    async def _store(self, event: FeedbackRecorded) -> int | None:
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
            self.forwarder.submit(
                FeedbackRow(
                    id=row_id,
                    at=event.at,
                    agent=event.agent,
                    reward=float(event.reward),
                    source=event.source,
                    room=room,
                    users=tuple(str(u) for u in event.users),
                    context=dict(event.context),
                ).as_json()
            )
        return row_id

    async def _delivered(self, payload: Mapping[str, Any]) -> None:
        row_id = payload.get("id")
        if isinstance(row_id, int):
            await self.store.mark_forwarded(row_id)

    @command(
        "feedback",
        "show an agent's feedback summary",
        usage="<agent> [days]",
        options=(("agent", "the agent's name"), ("days", "only the last N days")),
    )
    async def feedback_command(self, inv: CommandInvocation) -> str:
        if not inv.args:
            raise CommandError("name an agent")
        agent = inv.args[0]
        since = None
        if len(inv.args) > 1:
            try:
                days = float(inv.args[1])
            except ValueError:
                raise CommandError(f"days must be a number, got {inv.args[1]!r}") from None
            if not math.isfinite(days) or days <= 0:
                raise CommandError("days must be a positive number")
            since = self.ctx.clock.now() - days * 86_400
        summary = await self.store.summary(agent, since=since)
        return format_summary(summary, days=None if since is None else inv.args[1])

    @command("mood", "show this room's sentiment window and trend")
    async def mood_command(self, inv: CommandInvocation) -> str:
        if inv.room is None:
            raise CommandError("run it in a room")
        snap = self.snapshot(inv.room)
        if snap is None:
            return "No recent messages in this room."
        return format_mood(snap["window"], snap["average"], snap["history"])

    # --- suggestions -----------------------------------------------------------------------------------------------

    async def _index(self, cfg: SentimentSettings, now: float) -> TopicIndex:
        directory = self.ctx.service(AGENT_DIRECTORY)
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
            cached = self._config_indexes[id(table)] = (table, TopicIndex(table))
        self.topics_source = "config"
        return cached[1]

    async def _suggest(self, event: MessageCreated, cfg: SentimentSettings) -> Action | None:
        if not cfg.suggestions.topics and AGENT_DIRECTORY not in self.ctx.app.services:
            return None  # nobody to suggest
        index = await self._index(cfg, event.at)
        state = self.topics.get(event.room)
        if not index and state is None:
            return None
        here = self.present.get(event.room, set()) | self.spoke.get(event.room, set())
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

    async def _offer(
        self, event: MessageCreated, cfg: SentimentSettings, agent: str, keywords: tuple[str, ...]
    ) -> Action | None:
        room = event.room
        last = await self.store.last_suggestion_at(room.key)
        if last is not None and event.at - last < cfg.suggestions.cooldown_seconds:
            self._m_suggest.labels("room_cooldown").inc()
            return None
        last = await self.store.last_suggestion_at(room.key, agent)
        if last is not None and event.at - last < cfg.suggestions.agent_cooldown_seconds:
            self._m_suggest.labels("agent_cooldown").inc()
            return None
        if await self.ctx.agents.get(agent) is None:
            self._m_suggest.labels("unknown_agent").inc()
            self.ctx.log.warning("suggested_agent_not_registered", agent=agent, room=room.key)
            return None
        suggestion_id = await self.store.add_suggestion(at=event.at, room=room.key, agent=agent, keywords=keywords)
        self._m_suggest.labels("posted").inc()
        self.ctx.log.info("agent_suggested", agent=agent, room=room.key, suggestion=suggestion_id, keywords=keywords)
        topics = ", ".join(keywords)
        return SendMessage(
            room=room,
            text=f"This conversation keeps coming back to {topics}, which {agent} knows about. Invite {agent}?",
            buttons=(Button(f"Invite {agent}", button_id("suggest", suggestion_id, "invite"), ButtonStyle.PRIMARY),),
            system=True,
        )

    @listener(ButtonPressed)
    async def on_button(self, event: ButtonPressed) -> list[Action] | None:
        parts = event.parts
        if parts is None or parts[0] != "suggest":
            return None
        _kind, key, choice = parts
        platform = event.actor.platform

        def answer(text: str) -> list[Action]:
            if event.interaction_id is None:
                return []
            return [AnswerInteraction(target_platform=platform, interaction_id=event.interaction_id, text=text)]

        if choice != "invite" or not key.isdigit():
            self.ctx.metrics.rejected_input.labels("sentiment.button", "bad_custom_id").inc()
            self.ctx.log.warning("suggestion_button_unknown", custom_id=event.custom_id)
            return answer("This button is not one Steward knows.")
        suggestion = await self.store.suggestion(int(key))
        if suggestion is None:
            self.ctx.metrics.rejected_input.labels("sentiment.button", "unknown_suggestion").inc()
            return answer("This suggestion is no longer known.")
        if not await self.store.mark_clicked(suggestion.id, at=event.at, by=event.actor.key):
            return answer(f"{suggestion.agent} has already been invited from this suggestion.")
        room = Room.parse(suggestion.room)
        inviter = event.actor if event.actor.kind in (ActorKind.HUMAN, ActorKind.AGENT) else SYSTEM_ACTOR
        await self.ctx.bus.publish(
            InvitationRequested(
                at=event.at,
                agent=suggestion.agent,
                room=room,
                inviter=inviter,
                reason="Steward suggested it: the room was talking about " + ", ".join(suggestion.keywords),
            )
        )
        self._m_suggest.labels("clicked").inc()
        self.ctx.log.info("suggestion_taken", suggestion=suggestion.id, agent=suggestion.agent, by=event.actor.key)
        actions: list[Action] = answer(f"Invitation for {suggestion.agent} requested; its owner decides.")
        if event.message_id is not None:
            actions.append(
                UpdatePrompt(
                    target_platform=room.platform,
                    channel_id=event.room.channel if event.room is not None else room.channel,
                    message_id=event.message_id,
                    text=f"{event.actor.name} asked for {suggestion.agent} to join; waiting for its owner.",
                )
            )
        return actions


# --- text for people ----------------------------------------------------------------------------------------------


def _signed(value: float) -> str:
    return f"{value:+.2f}"


def format_summary(summary: FeedbackSummary, *, days: str | None = None) -> str:
    span = f" (last {days} days)" if days else ""
    total = summary.total
    if total.count == 0:
        return f"No feedback for {summary.agent}{span}."
    first = datetime.fromtimestamp(summary.first_at or 0, UTC).strftime("%Y-%m-%d")
    last = datetime.fromtimestamp(summary.last_at or 0, UTC).strftime("%Y-%m-%d")
    lines = [
        f"Feedback for {summary.agent}{span}: {total.count} events, mean {_signed(total.mean)} "
        f"({total.positive} positive, {total.negative} negative), {first} to {last}",
        "by source: " + "; ".join(f"{src} {t.count} (mean {_signed(t.mean)})" for src, t in summary.by_source.items()),
        "by day: " + "; ".join(f"{day} {t.count} ({_signed(t.mean)})" for day, t in list(summary.by_day)[-14:]),
    ]
    return "\n".join(lines)


def format_mood(window: WindowSummary, average: Mapping[str, float | None], history: list[WindowSummary]) -> str:
    def fmt(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.2f}"

    tox = fmt(window.toxicity)
    lines = [
        f"Now: {window.messages} messages ({window.humans} by people), {window.speakers} speakers, "
        f"{window.rate:.1f}/min; sentiment {_signed(window.sentiment)}, joy {window.joy:.2f}, "
        f"anger {window.anger:.2f}, frustration {window.frustration:.2f}, confusion {window.confusion:.2f}, "
        f"toxicity {tox}",
        "Trend: " + ", ".join(f"{k} {fmt(v)}" for k, v in average.items()),
    ]
    if history:
        lines.append("Last windows (sentiment): " + " ".join(_signed(h.sentiment) for h in history))
    return "\n".join(lines)
