"""Replay: run a recorded conversation through the same pipeline as a live room.

Human and bot lines become ``MessageCreated`` events; agent lines go through the agent publisher. The app's clock
follows the transcript's timestamps, so windows, cooldowns and loops behave as they did when it was recorded.
Every decision is committed to the database before it is printed: a replay killed half-way leaves a database
that holds every decision it reported.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import IO, TYPE_CHECKING

from adapters.replay.adapter import PLATFORM, SERVER, ReplayAdapter
from adapters.replay.summary import ReplaySummary
from adapters.replay.transcript import BadLine, Line, count_lines, read_transcript
from bot.actions import Action, SendMessage
from bot.app import StewardApp
from bot.clock import ManualClock
from bot.config import Settings
from bot.events import MessageCreated, ModerationDecision
from bot.logging import get_logger
from domain import Actor, ActorKind, Room
from storage.core import AgentRecord

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

log = get_logger("steward.replay")


class ReplayRunner:
    def __init__(
        self, settings: Settings, *, out: IO[str] | None = None, as_json: bool = False, progress: bool | None = None
    ) -> None:
        self.settings = settings
        self.out = out or sys.stdout
        self.as_json = as_json
        self.progress = sys.stderr.isatty() if progress is None else progress
        self.clock = ManualClock(0.0)
        self.adapter = ReplayAdapter()
        self.app = StewardApp(settings, adapters=[self.adapter], clock=self.clock, http=False)
        self.summary = ReplaySummary(database=str(settings.database.path))
        self.total: int | None = None  # the transcript's lines, once counted
        self.position = 0  # the number of the last line handled
        self._authors: dict[str, Actor] = {}
        self._agents: dict[str, AgentRecord] = {}
        self._human_decisions: list[ModerationDecision] = []
        self._line_records: list[dict[str, object]] = []

    async def run(self, path: Path) -> ReplaySummary:
        started = time.perf_counter()
        self.total = total = count_lines(path)
        await self.app.start()  # closes what it opened when it fails
        self.app.bus.subscribe(ModerationDecision, self._collect, owner="replay", name="replay.collect")
        try:
            if self.progress:
                with _progress_bar() as bar:
                    task = bar.add_task(f"replaying {path.name}", total=total)
                    for item in read_transcript(path):
                        await self._handle(item)
                        bar.update(task, completed=item.number)
            else:
                for item in read_transcript(path):
                    await self._handle(item)
        finally:
            await self.app.stop()
        self.summary.seconds = time.perf_counter() - started
        return self.summary

    async def _collect(self, event: ModerationDecision) -> None:
        self._human_decisions.append(event)

    async def _handle(self, item: Line | BadLine) -> None:
        self.position = item.number
        if isinstance(item, BadLine):
            self._skip(item)
            return
        self.summary.lines += 1
        entry = item.entry
        if entry.ts > self.clock.now():
            self.clock.set(entry.ts)
            await self.app.scheduler.fire_due()
        room = Room(PLATFORM, SERVER, entry.room)
        before_actions = len(self.adapter.performed)
        self._human_decisions.clear()
        if entry.kind == "agent":
            await self._agent_line(item, room)
        else:
            await self._human_line(item, room)
        self._report(item, self.adapter.performed[before_actions:])

    def _skip(self, bad: BadLine) -> None:
        self.summary.bad_lines.append(bad)
        self.app.metrics.rejected_input.labels("replay", "malformed_line").inc()
        log.warning("replay_line_skipped", line=bad.number, problem=bad.problem)
        if self.as_json:
            self._emit({"line": bad.number, "error": bad.problem})
        else:
            print(f"line {bad.number}: skipped: {bad.problem}", file=sys.stderr)

    def _report(self, item: Line, performed: list[Action]) -> None:
        """Count what a line made Steward do; with ``--json``, emit the line's records (its actions on the first)."""
        for action in performed:
            self.summary.actions[type(action).__name__] += 1
            if isinstance(action, SendMessage):
                self.summary.notices.append((item.number, action.text))
        if self.as_json:
            if performed and self._line_records:
                self._line_records[0]["actions"] = [_describe(action) for action in performed]
            for record in self._line_records:
                self._emit(record)
        self._line_records.clear()

    async def _agent_line(self, item: Line, room: Room) -> None:
        entry = item.entry
        agent = self._agents.get(entry.author)
        if agent is None:
            agent = await self.app.agents.get(entry.author) or await self.app.agents.register(
                AgentRecord(name=entry.author, platform=PLATFORM, owner_id="replay")
            )
            self._agents[entry.author] = agent  # the replay is the database's one writer: the record stays true
        self.adapter.next_message_id = item.message_id
        self._authors[item.message_id] = Actor(PLATFORM, entry.author, ActorKind.AGENT, entry.author)
        result = await self.app.publisher.submit(agent, room, entry.text, reply_to=entry.reply_to, at=entry.ts)
        await self.app.bus.join()
        d = result.decision
        self._record(item, "agent", d.verdict.value, d.rule, d.reason, decision_id=result.decision_id, held=result.held)

    async def _human_line(self, item: Line, room: Room) -> None:
        entry = item.entry
        kind = ActorKind.BOT if entry.kind == "bot" else ActorKind.HUMAN
        author = Actor(PLATFORM, entry.author, kind, entry.author)
        self._authors[item.message_id] = author
        await self.app.bus.dispatch(
            MessageCreated(
                at=entry.ts,
                room=room,
                message_id=item.message_id,
                author=author,
                text=entry.text,
                reply_to=entry.reply_to,
                reply_to_author=self._authors.get(entry.reply_to) if entry.reply_to else None,
            )
        )
        await self.app.bus.join()
        mine = [d for d in self._human_decisions if d.message_id == item.message_id]
        if not mine:
            self._record(item, entry.kind, "approve", "pass", "no rule objected")
        for d in mine:
            self._record(item, entry.kind, d.verdict, d.rule, d.reason, case_id=d.case_id, log_only=d.log_only)

    def _record(self, item: Line, kind: str, verdict: str, rule: str, reason: str, **extra: object) -> None:
        self.summary.verdicts[(kind, verdict, rule)] += 1
        self.summary.by_author[(item.entry.author, verdict)] += 1
        if verdict != "approve":
            self.summary.notable.append((item.number, item.entry.author, verdict, rule, reason))
        if self.as_json:
            fields = {k: v for k, v in extra.items() if v not in (None, False)}
            entry = item.entry
            self._line_records.append(
                {
                    "line": item.number,
                    "id": item.message_id,
                    "ts": entry.ts,
                    "room": entry.room,
                    "author": entry.author,
                    "kind": kind,
                    "verdict": verdict,
                    "rule": rule,
                    "reason": reason,
                    **fields,
                }
            )

    def _emit(self, data: dict[str, object]) -> None:
        self.out.write(json.dumps(data, ensure_ascii=False) + "\n")
        self.out.flush()


def _describe(action: Action) -> dict[str, object]:
    """What Steward did because of a line, for ``--json``: the action's kind and its readable fields."""
    described: dict[str, object] = {"action": type(action).__name__}
    for name in ("text", "message_id", "user_id", "seconds", "reason"):
        value = getattr(action, name, None)
        if value not in (None, ""):
            described[name] = value
    agent = getattr(action, "agent", None)
    if agent is not None:
        described["agent"] = agent.name
    return described


def _stderr_console() -> Console:
    from rich.console import Console

    return Console(file=sys.stderr)


def _progress_bar() -> Progress:
    """The bar drawn on stderr: lines done of the transcript's, the time spent and the time left; gone at the end."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("lines"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        transient=True,
        console=_stderr_console(),
    )
