"""The whole-bot benchmark: its traffic, a tiny run through a real app, its digest and its doc blocks."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from benchmarks import whole_bot_bench
from benchmarks.whole_bot_traffic import generate

ROOT = Path(__file__).resolve().parents[2]


def test_the_traffic_is_seeded_opens_every_room_and_mixes_what_the_bot_sees() -> None:
    lines, start = generate(rooms=40, agents=30, messages=3000, seed=3)
    assert lines == generate(rooms=40, agents=30, messages=3000, seed=3)[0]
    assert lines != generate(rooms=40, agents=30, messages=3000, seed=4)[0]
    assert start == 40 and sorted(line.room for line in lines[:start]) == list(range(40))
    feed = lines[start:]
    kinds = Counter(line.kind for line in feed)
    assert set(kinds) == {"human", "agent", "bot"} and kinds["human"] > kinds["agent"] > kinds["bot"]
    assert [line.at for line in lines] == sorted(line.at for line in lines)
    for line in feed:
        if line.reply_to is not None:  # a reply is to an earlier message of the same room
            assert line.reply_to < line.n and lines[line.reply_to].room == line.room
    replied_kinds = {(line.kind, lines[line.reply_to].kind) for line in feed if line.reply_to is not None}
    assert {("agent", "human"), ("agent", "agent"), ("human", "agent")} <= replied_kinds
    said: dict[tuple[str, int], str] = {}
    repeats = 0
    for line in feed:
        repeats += line.kind == "agent" and said.get((line.author, line.room)) == line.text
        said[(line.author, line.room)] = line.text
    assert repeats > 20  # agents repeat themselves (the duplicate rule's work)
    assert any(line.mentions for line in feed) and any("@here" in line.text for line in feed)
    assert len({line.author for line in feed if line.kind == "agent"}) > 10


def _tiny(cogs: list[str]) -> dict[str, object]:
    spec = {"cogs": cogs, "rooms": 5, "agents": 8, "messages": 50, "seed": 11}
    return whole_bot_bench.run_child(spec, ROOT)


@pytest.mark.slow
def test_a_tiny_run_reports_sane_figures_and_the_same_digest_twice() -> None:
    first, second = _tiny(whole_bot_bench.ALL), _tiny(whole_bot_bench.ALL)
    assert first["digest"] == second["digest"] and len(str(first["digest"])) == 64
    assert first["outcomes"] == second["outcomes"]
    assert first["messages"] == 50 and first["fill_messages"] == 5
    assert sum(first["mix"].values()) == 50  # type: ignore[attr-defined]
    for field in ("per_cpu_second", "cpu_seconds", "human_p50_ms", "agent_p99_ms", "agent_to_person"):
        assert float(first[field]) > 0, field  # type: ignore[arg-type]
    assert float(first["human_p50_ms"]) <= float(first["human_p99_ms"])  # type: ignore[arg-type]
    assert 0 <= float(first["periodic_cpu_seconds"]) < float(first["cpu_seconds"])  # type: ignore[arg-type]
    assert int(first["db_bytes_after"]) > int(first["db_bytes_before"])  # type: ignore[call-overload]
    # Without the moderator nothing is rejected, and the digest says the decisions changed.
    bare = _tiny([])
    assert bare["digest"] != first["digest"]
    assert all(":reject:" not in outcome for outcome in bare["outcomes"])  # type: ignore[attr-defined]


def test_write_replaces_only_the_marked_block_and_the_readme_row(tmp_path: Path) -> None:
    doc = tmp_path / "performance.md"
    doc.write_text("# Perf\n\nbefore\n<!-- whole-bot:start -->\nold\n<!-- whole-bot:end -->\nafter\n")
    whole_bot_bench.write_block(doc, "whole-bot", "| new |")
    assert doc.read_text() == "# Perf\n\nbefore\n<!-- whole-bot:start -->\n| new |\n<!-- whole-bot:end -->\nafter\n"
    with pytest.raises(SystemExit):
        whole_bot_bench.write_block(doc, "whole-bot-sweep-rooms", "x")
    readme = tmp_path / "README.md"
    readme.write_text("| what | measured |\n| --- | --- |\n| moderator rule chain (x) | 1 |\n")
    for value in ("1", "2"):  # written twice: one row, the latest
        whole_bot_bench.write_readme(f"{whole_bot_bench.README_ROW} | {value} |", readme)
    rows = readme.read_text().splitlines()
    assert rows[2] == f"{whole_bot_bench.README_ROW} | 2 |" and rows[3].startswith("| moderator rule chain")
    assert len(rows) == 4
