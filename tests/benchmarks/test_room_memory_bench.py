"""The room memory benchmark on a few rooms: it charges what rooms hold to the modules that hold it, and every cog
gives its rooms back once they are idle."""

from __future__ import annotations

from benchmarks.room_memory_bench import measure, render


async def test_every_cog_forgets_idle_rooms_and_the_report_names_who_held_them() -> None:
    result = await measure(12, toxicity=False, warmup=3)
    cogs = {"moderator": 15, "sentiment": 15, "conversation": 15, "overridden_sections": 0}
    assert result["held"] == cogs  # the warm-up's rooms and the measured ones; no config section per room
    # past every idle setting, after the sweeps: only the room that spoke last is held
    assert result["held_after_eviction"] == {**{cog: 1 for cog in cogs}, "overridden_sections": 0}
    assert result["bytes_per_room"] > 0
    assert result["after_eviction_bytes_per_room"] < result["bytes_per_room"]
    assert any(where.startswith("cogs/sentiment/windows.py") for where in result["by_file"])
    assert "memory per active room" in render(result, top=5)
