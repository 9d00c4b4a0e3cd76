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
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from adapters.replay.transcript import BadLine, Line, count_lines, read_transcript
from bot.actions import Action, ActionResult, SendMessage
from bot.adapter import Adapter
from bot.app import StewardApp
from bot.clock import ManualClock
from bot.config import Settings
from bot.events import MessageCreated, ModerationDecision
from bot.logging import get_logger
from domain import Actor, ActorKind, Room
from storage.core import AgentRecord

log = get_logger("steward.replay")

PLATFORM = "replay"
SERVER = "replay"


class ReplayAdapter(Adapter):
    """The 'platform' of a replay: performs every action by recording it; a posted message keeps its line's id."""

    platform = PLATFORM

    def __init__(self) -> None:
        super().__init__()
        self.performed: list[Action] = []
        self.next_message_id: str | None = None

    def supports(self, action: Action) -> bool:
        return True

    async def perform(self, action: Action) -> ActionResult:
        self.performed.append(action)
        message_id, self.next_message_id = self.next_message_id, None
        return ActionResult(ok=True, message_id=message_id)

    def health(self) -> dict[str, Any]:
        return {"up": self.app is not None, "actions": len(self.performed)}


@dataclass
class ReplaySummary:
    lines: int = 0
    bad_lines: list[BadLine] = field(default_factory=list)
    verdicts: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # (kind, verdict, rule)
    by_author: Counter[tuple[str, str]] = field(default_factory=Counter)  # (author, verdict)
    actions: Counter[str] = field(default_factory=Counter)
    # (line, author, verdict, rule, reason) of every decision that was not a plain approval
    notable: list[tuple[int, str, str, str, str]] = field(default_factory=list)
    # (line, text) of what Steward said in the rooms (mode switches, notices)
    notices: list[tuple[int, str]] = field(default_factory=list)
    seconds: float = 0.0
    database: str = ""


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
        self._authors: dict[str, Actor] = {}
        self._human_decisions: list[ModerationDecision] = []
        self._line_records: list[dict[str, Any]] = []

    async def run(self, path: Path) -> ReplaySummary:
        started = time.perf_counter()
        await self.app.start()
        self.app.bus.subscribe(ModerationDecision, self._collect, owner="replay", name="replay.collect")
        try:
            total = count_lines(path)
            if self.progress:
                from rich.progress import Progress

                with Progress(transient=True, console=_stderr_console()) as bar:
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
        if isinstance(item, BadLine):
            self.summary.bad_lines.append(item)
            self.app.metrics.rejected_input.labels("replay", "malformed_line").inc()
            log.warning("replay_line_skipped", line=item.number, problem=item.problem)
            if self.as_json:
                self._emit({"line": item.number, "error": item.problem})
            else:
                print(f"line {item.number}: skipped: {item.problem}", file=sys.stderr)
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
        performed = self.adapter.performed[before_actions:]
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
        agent = await self.app.agents.get(entry.author)
        if agent is None:
            agent = await self.app.agents.register(AgentRecord(name=entry.author, platform=PLATFORM, owner_id="replay"))
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

    def _record(self, item: Line, kind: str, verdict: str, rule: str, reason: str, **extra: Any) -> None:
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

    def _emit(self, data: dict[str, Any]) -> None:
        self.out.write(json.dumps(data, ensure_ascii=False) + "\n")
        self.out.flush()


def _describe(action: Action) -> dict[str, Any]:
    """What Steward did because of a line, for ``--json``: the action's kind and its readable fields."""
    described: dict[str, Any] = {"action": type(action).__name__}
    for name in ("text", "message_id", "user_id", "seconds", "reason"):
        value = getattr(action, name, None)
        if value not in (None, ""):
            described[name] = value
    agent = getattr(action, "agent", None)
    if agent is not None:
        described["agent"] = agent.name
    return described


def _stderr_console():
    from rich.console import Console

    return Console(file=sys.stderr)


def render_summary(summary: ReplaySummary, out: IO[str] | None = None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(file=out or sys.stdout, width=110, no_color=not (out or sys.stdout).isatty())
    if summary.notable:
        fired = Table(title="What the rules caught")
        for column in ("line", "author", "verdict", "rule", "reason"):
            fired.add_column(column, overflow="fold")
        for line, author, verdict, rule, reason in summary.notable:
            fired.add_row(str(line), author, verdict, rule, reason)
        console.print(fired)
    if summary.notices:
        said = Table(title="What Steward said in the rooms")
        said.add_column("line")
        said.add_column("message", overflow="fold")
        for line, text in summary.notices:
            said.add_row(str(line), text)
        console.print(said)
    table = Table(title="Decisions by rule")
    for column in ("kind", "verdict", "rule", "count"):
        table.add_column(column, justify="right" if column == "count" else "left")
    for (kind, verdict, rule), count in sorted(summary.verdicts.items()):
        table.add_row(kind, verdict, rule, str(count))
    console.print(table)
    authors = Table(title="Decisions by author")
    verdicts = sorted({v for (_, v) in summary.by_author})
    authors.add_column("author")
    for verdict in verdicts:
        authors.add_column(verdict, justify="right")
    for author in sorted({a for (a, _) in summary.by_author}):
        authors.add_row(author, *(str(summary.by_author.get((author, v), 0)) for v in verdicts))
    console.print(authors)
    if summary.actions:
        console.print("actions: " + ", ".join(f"{name} x{n}" for name, n in sorted(summary.actions.items())))
    console.print(
        f"{summary.lines} messages, {len(summary.bad_lines)} malformed line(s) skipped, "
        f"{summary.seconds:.2f}s; decisions stored in {summary.database}"
    )
