"""The sentiment cog's chat commands, ``feedback <agent> [days]`` and ``mood``, and their text for people (the
CLI's ``steward feedback summary`` prints the same summary)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot.commands import CommandError, CommandInvocation, command
from policy.sentiment import WindowSummary
from storage.feedback import FeedbackStore, FeedbackSummary

if TYPE_CHECKING:
    from bot.cog import CogContext
    from cogs.sentiment.windows import RoomWindows

DAY_SECONDS = 86_400


class SentimentCommands:
    """The commands, mixed into ``SentimentCog`` (the command registry finds them on the cog)."""

    ctx: CogContext
    store: FeedbackStore
    windows: RoomWindows

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
            since = self.ctx.clock.now() - _days(inv.args[1]) * DAY_SECONDS
        summary = await self.store.summary(agent, since=since)
        return format_summary(summary, days=None if since is None else inv.args[1])

    @command("mood", "show this room's sentiment window and trend")
    async def mood_command(self, inv: CommandInvocation) -> str:
        if inv.room is None:
            raise CommandError("run it in a room")
        window = self.windows.peek(inv.room)
        if window is None:
            return "No recent messages in this room."
        now = max(self.ctx.clock.now(), window.last_at)
        return format_mood(window.current(now), window.average(), window.history())


def _days(text: str) -> float:
    try:
        days = float(text)
    except ValueError:
        raise CommandError(f"days must be a number, got {text!r}") from None
    if not math.isfinite(days) or days <= 0:
        raise CommandError("days must be a positive number")
    return days


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
