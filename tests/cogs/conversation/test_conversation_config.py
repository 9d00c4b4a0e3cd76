"""The [conversation] section: what a mistyped or inconsistent configuration is told, and where the rules run."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, load_settings
from tests.cogs.conversation.conftest import ROOM


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"dominance_threshold": 0.5, "dominance_release": 0.6}, "dominance_release must be below"),
        ({"idle_seconds": 600, "evict_after_seconds": 60}, "evict_after_seconds must be at least idle_seconds"),
        ({"action_item_patterns": ["(unclosed"]}, "not a valid regular expression"),
        ({"default_mode": "silent"}, r"conversation\.default_mode"),
        ({"dominanse_threshold": 0.5}, r"conversation\.dominanse_threshold: unknown key"),
        ({"llm": {"enabled": True, "base_url": "ftp://x", "model": "m"}}, "base_url"),
    ],
)
def test_a_bad_section_is_refused_with_the_key_named(section, message):
    with pytest.raises(ConfigError, match=message):
        load_settings(data={"conversation": section})


def test_a_channel_can_have_its_own_thresholds():
    settings = load_settings(
        data={
            "conversation": {"dominance_threshold": 0.8},
            "servers": {ROOM.server: {"channels": {ROOM.channel: {"conversation": {"default_mode": "focused"}}}}},
        }
    )
    here = settings.section("conversation", ROOM)
    assert here.default_mode == "focused" and here.dominance_threshold == 0.8
    assert settings.section("conversation").default_mode == "open"


async def test_the_sweep_runs_on_apscheduler_and_stops_with_the_cog(chat):
    job = chat.app.scheduler.aps.get_job("conversation:sweep")
    assert job is not None and job.trigger.interval.total_seconds() == 60
    assert chat.app.health()["components"]["conversation"]["up"] is True
    await chat.app.cogs.unload("conversation")
    assert chat.app.scheduler.aps.get_job("conversation:sweep") is None
    assert chat.app.commands.get("mode") is None
