"""The core benchmark runs on a real app and measures both kinds of message."""

from __future__ import annotations

import argparse
import io

from benchmarks.core_bench import measure


async def test_a_tiny_core_run_reports_the_cost_of_people_and_agents(tmp_path) -> None:
    args = argparse.Namespace(messages=20, listeners=3, rooms=5, agents=2, seed=1)
    result = await measure(args, io.StringIO(), tmp_path)
    assert set(result) == {"person_ms", "agent_ms"}
    assert result["person_ms"] > 0 and result["agent_ms"] > 0
