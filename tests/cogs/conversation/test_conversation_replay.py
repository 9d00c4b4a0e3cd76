"""A recorded multi-agent conversation (examples/multi_agent.jsonl) replayed through a Steward with every default
cog: the moderator switches the channel to focused mode and back, and says why each time."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from adapters.replay.transcript import Line, read_transcript
from bot.actions import SendMessage
from bot.app import StewardApp
from bot.clock import ManualClock
from bot.events import MessageCreated
from domain import Actor, ActorKind, Room
from policy.conversation import Mode
from storage.conversation import ConversationStore
from storage.core import AgentRecord
from storage.db import Database
from tests.support import RecordingAdapter, steward_env

ROOT = Path(__file__).resolve().parents[3]
TRANSCRIPT = ROOT / "examples" / "multi_agent.jsonl"


async def test_the_moderator_switches_modes_and_back_in_a_replayed_conversation(make_settings):
    adapter = RecordingAdapter()
    clock = ManualClock(0.0)
    app = StewardApp(make_settings(), adapters=[adapter], clock=clock)
    await app.start()
    try:
        assert "conversation" in app.cogs.cogs and not app.cogs.failed
        cog = app.cogs.cogs["conversation"]
        ids: dict[str, str] = {}  # transcript id -> posted message id
        authors: dict[str, Actor] = {}
        modes: list[tuple[str, str]] = []
        verdicts: dict[str, tuple[str, str]] = {}
        for item in read_transcript(TRANSCRIPT):
            assert isinstance(item, Line), item
            entry = item.entry
            clock.set(entry.ts)
            await app.scheduler.fire_due()
            room = Room("test", "replay", entry.room)
            reply_to = ids.get(entry.reply_to, entry.reply_to) if entry.reply_to else None
            if entry.kind == "agent":
                if await app.agents.get(entry.author) is None:
                    await app.agents.register(AgentRecord(entry.author, "test", owner_id=f"owner-of-{entry.author}"))
                result = await app.publisher.submit(entry.author, room, entry.text, reply_to=reply_to, at=entry.ts)
                verdicts[item.message_id] = (result.decision.verdict.value, result.decision.rule)
                if result.message_id:
                    ids[item.message_id] = result.message_id
                    authors[result.message_id] = Actor("test", entry.author, ActorKind.AGENT, entry.author)
            else:
                author = Actor("test", entry.author, ActorKind.HUMAN, entry.author)
                authors[item.message_id] = author
                await app.bus.dispatch(
                    MessageCreated(
                        at=entry.ts,
                        room=room,
                        message_id=item.message_id,
                        author=author,
                        text=entry.text,
                        reply_to=reply_to,
                        reply_to_author=authors.get(reply_to) if reply_to else None,
                    )
                )
            await app.bus.join()
            modes.append((item.message_id, cog.mode_of(room).value))

        # open -> focused (agents took over) -> open (the humans took the room back)
        changes = [m for i, m in enumerate(modes) if i == 0 or m[1] != modes[i - 1][1]]
        assert [mode for _, mode in changes] == ["open", "focused", "open"]
        focused_at, opened_at = int(changes[1][0]), int(changes[2][0])
        assert focused_at <= 11 and 13 < opened_at < 28  # before alice addresses coder; before planner speaks again
        assert verdicts["13"] == ("approve", "pass")  # coder was addressed by name
        assert verdicts["14"] == ("reject", "conversation.mode")  # planner was not
        assert verdicts["28"] == ("approve", "pass")  # open again

        notices = [a.text for a in adapter.of(SendMessage) if a.system and a.room.channel == "standup"]
        mine = [n for n in notices if "because" in n]
        assert len(mine) == 4
        assert mine[0].startswith("Steward switched this channel to focused mode because agents wrote ")
        assert mine[0].endswith("Agents now speak only when someone addresses them by name or replies to them.")
        assert mine[1] == "Noted an action item, because coder raised an action item (1 in this conversation so far)."
        assert mine[2].startswith("Steward switched this channel to open mode because agents now write ")
        assert mine[3] == (
            "Reminder: 2 action item(s) were raised here (by bob, coder), because the channel has been idle for "
            "40 minutes."
        )
        entries = list(reversed(await cog.store.audit_entries(Room("test", "replay", "standup").key)))
        assert [(e.actor, e.action, e.signal) for e in entries] == [
            ("moderator", "set_mode", "agent_dominance"),
            ("moderator", "post_message", "action_item"),
            ("moderator", "set_mode", "agents_balanced"),
            ("moderator", "post_message", "idle"),
        ]
        assert all(e.notice_message_id for e in entries)
        assert cog.mode_of(Room("test", "replay", "standup")) is Mode.OPEN
    finally:
        await app.stop()


@pytest.mark.slow
def test_steward_replay_shows_the_mode_switches(tmp_path):
    config = tmp_path / "steward.toml"
    config.write_text('[toxicity]\nenabled = false\n[http]\nenabled = false\n[logging]\nlevel = "WARNING"\n')
    db = tmp_path / "replay.db"
    env = steward_env()
    command = [sys.executable, "-m", "bot.cli", "replay", str(TRANSCRIPT), "--json"]
    done = subprocess.run(
        [*command, "--config", str(config), "--db", str(db)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    by_id = {line["id"]: line for line in lines if "id" in line}
    assert by_id["14"]["rule"] == "conversation.mode" and "focused mode" in by_id["14"]["reason"]
    assert by_id["28"]["verdict"] == "approve"

    async def audit() -> list[tuple[str, str]]:
        async with Database(db) as database:
            store = ConversationStore(database)
            return [(e.action, e.params.get("mode", "")) for e in reversed(await store.audit_entries())]

    assert [a for a in asyncio.run(audit()) if a[0] == "set_mode"] == [("set_mode", "focused"), ("set_mode", "open")]
