"""The presence penalties reach the feedback store and its export: a suspension's -2 included, on a new database
and on one created before the range was widened."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest

from bot.app import StewardApp
from bot.cli import main
from storage.db import Database
from storage.feedback import FEEDBACK_COMPONENT, FEEDBACK_MIGRATIONS, FeedbackStore, InvalidFeedback

from .conftest import ROOM, register, run


@pytest.fixture
async def fullapp(make_settings, adapter, clock) -> AsyncIterator[StewardApp]:
    settings = make_settings(
        cogs={"enabled": ["moderator", "presence", "sentiment"]},
        presence={"default_join_cooldown_seconds": 0},
        moderator={
            "filters": {"words": ["forbidden"], "agent_action": "reject"},
            "escalation": {"rejections": 2, "window_seconds": 600, "suspend_seconds": 3600, "scope": "room"},
        },
    )
    app = StewardApp(settings, adapters=[adapter], clock=clock)
    await app.start()
    assert {"moderator", "presence", "sentiment"} <= set(app.cogs.cogs), app.cogs.failed
    try:
        yield app
    finally:
        await app.stop()


async def test_a_suspension_penalty_is_stored_and_exported(fullapp, make_settings, tmp_path, capsys):
    await register(fullapp)
    await run(fullapp, "invite helper")
    await fullapp.publisher.submit("helper", ROOM, "this is forbidden talk")
    await fullapp.publisher.submit("helper", ROOM, "more forbidden words here")
    await fullapp.bus.join()
    store: FeedbackStore = fullapp.cogs.cogs["sentiment"].store
    stored = sorted([(row.source, row.reward) async for row in store.export(agent="helper")])
    assert stored == [
        ("presence.blocked_message", -0.7),
        ("presence.blocked_message", -0.7),
        ("presence.forced_leave", -1.0),
        ("presence.suspension", -2.0),
    ]
    assert fullapp.metrics.value("steward_feedback_rejected_total", reason="reward_out_of_range") in (None, 0)

    config = tmp_path / "steward.toml"
    config.write_text(f'[database]\npath = "{make_settings.tmp_path / "steward.db"}"\n')
    # the command runs its own event loop, as it does from a shell beside the running bot
    assert await asyncio.to_thread(main, ["feedback", "export", "--config", str(config), "--agent", "helper"]) == 0
    exported = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    [penalty] = [row for row in exported if row["source"] == "presence.suspension"]
    assert penalty["reward"] == -2.0 and penalty["room"] == ROOM.key


async def test_the_range_is_minus_two_to_one(tmp_path):
    async with Database(tmp_path / "f.db") as db:
        store = FeedbackStore(db)
        await store.migrate()
        await store.record(at=1.0, agent="helper", reward=-2.0, source="presence.suspension")
        await store.record(at=2.0, agent="helper", reward=1.0, source="explicit.owner")
        for bad in (-2.01, 1.01):
            with pytest.raises(InvalidFeedback) as refused:
                await store.record(at=3.0, agent="helper", reward=bad, source="presence.suspension")
            assert refused.value.reason == "reward_out_of_range" and "[-2, 1]" in str(refused.value)
        assert [r.reward for r in await store.recent("helper")] == [1.0, -2.0]


async def test_an_older_database_keeps_its_rows_and_takes_the_penalty(tmp_path):
    async with Database(tmp_path / "f.db") as db:
        await db.migrate(FEEDBACK_COMPONENT, FEEDBACK_MIGRATIONS[:2])
        store = FeedbackStore(db)
        first = await store.record(at=1.0, agent="helper", reward=-1.0, source="presence.forced_leave", forward=True)
        await store.record(at=2.0, agent="helper", reward=0.5, source="explicit.owner", users=["alice"])
        with pytest.raises(Exception, match="CHECK"):  # the old schema itself refuses -2
            await db.execute(
                "INSERT INTO feedback (at, agent, reward, source, recorded_at) VALUES (3, 'helper', -2, 'x', 3)"
            )
        assert await store.migrate() == len(FEEDBACK_MIGRATIONS)
        third = await store.record(at=3.0, agent="helper", reward=-2.0, source="presence.suspension")
        rows = [row async for row in store.export()]
        assert [(r.id, r.reward, r.users) for r in rows] == [(first, -1.0, ()), (2, 0.5, ("alice",)), (third, -2.0, ())]
        assert third == 3
        assert [r.id for r in await store.pending_forward()] == [first]
