"""What a replay found, and its rendering as tables: what the rules caught, what Steward said in the rooms, the
decisions by rule and by author, the actions taken."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING

from adapters.replay.transcript import BadLine

if TYPE_CHECKING:
    from rich.table import Table

SUMMARY_WIDTH = 110


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


def _table(
    title: str,
    columns: tuple[str, ...],
    rows: Sequence[tuple[str, ...]],
    *,
    right: tuple[str, ...] = (),
    fold: tuple[str, ...] = (),
) -> Table:
    """A table whose ``right`` columns are right-justified and whose ``fold`` columns wrap long values."""
    from rich.table import Table

    table = Table(title=title)
    for column in columns:
        table.add_column(
            column, justify="right" if column in right else "left", overflow="fold" if column in fold else "ellipsis"
        )
    for row in rows:
        table.add_row(*row)
    return table


def _caught(summary: ReplaySummary) -> Table:
    rows = [(str(line), author, verdict, rule, reason) for line, author, verdict, rule, reason in summary.notable]
    columns = ("line", "author", "verdict", "rule", "reason")
    return _table("What the rules caught", columns, rows, fold=columns)


def _said(summary: ReplaySummary) -> Table:
    rows = [(str(line), text) for line, text in summary.notices]
    return _table("What Steward said in the rooms", ("line", "message"), rows, fold=("message",))


def _by_rule(summary: ReplaySummary) -> Table:
    rows = [(kind, verdict, rule, str(count)) for (kind, verdict, rule), count in sorted(summary.verdicts.items())]
    return _table("Decisions by rule", ("kind", "verdict", "rule", "count"), rows, right=("count",))


def _by_author(summary: ReplaySummary) -> Table:
    verdicts = tuple(sorted({v for (_, v) in summary.by_author}))
    rows = [
        (author, *(str(summary.by_author.get((author, v), 0)) for v in verdicts))
        for author in sorted({a for (a, _) in summary.by_author})
    ]
    return _table("Decisions by author", ("author", *verdicts), rows, right=verdicts)


def render_summary(summary: ReplaySummary, out: IO[str] | None = None) -> None:
    from rich.console import Console

    stream = out or sys.stdout
    console = Console(file=stream, width=SUMMARY_WIDTH, no_color=not stream.isatty())
    if summary.notable:
        console.print(_caught(summary))
    if summary.notices:
        console.print(_said(summary))
    console.print(_by_rule(summary))
    console.print(_by_author(summary))
    if summary.actions:
        console.print("actions: " + ", ".join(f"{name} x{n}" for name, n in sorted(summary.actions.items())))
    console.print(
        f"{summary.lines} messages, {len(summary.bad_lines)} malformed line(s) skipped, "
        f"{summary.seconds:.2f}s; decisions stored in {summary.database}"
    )
