"""``steward feedback export`` and ``steward feedback summary`` through the real ``steward`` entry point."""

from __future__ import annotations

import asyncio
import json

import pytest

from bot.cli import main
from cogs.sentiment.cli import UsageError, parse_when
from storage.db import Database
from storage.feedback import FeedbackStore

DAY = 86_400
T0 = 1_700_000_000.0  # 2023-11-14T22:13:20Z


@pytest.fixture
def config(tmp_path):
    db_path = tmp_path / "steward.db"

    async def fill() -> None:
        async with Database(db_path) as db:
            store = FeedbackStore(db)
            await store.migrate()
            await store.record(at=T0, agent="helper", reward=0.5, source="explicit.reaction", room="test:g1:c1",
                               users=["alice"], context={"emoji": "👍"})  # fmt: skip
            await store.record(at=T0 + DAY, agent="helper", reward=-0.25, source="implicit.sentiment",
                               context={"emotion": "confusion", "intensity": 0.7})  # fmt: skip
            await store.record(at=T0 + 2 * DAY, agent="scout", reward=1.0, source="explicit.owner")

    asyncio.run(fill())
    path = tmp_path / "steward.toml"
    path.write_text(f'[database]\npath = "{db_path}"\n')
    return path


def test_export_writes_jsonl_filtered_by_agent_and_time(config, tmp_path, capsys):
    out = tmp_path / "export.jsonl"
    code = main(["feedback", "export", "--config", str(config), "--agent", "helper", "--since",
                 "2023-11-15T00:00:00", "--out", str(out)])  # fmt: skip
    assert code == 0
    [line] = out.read_text().splitlines()
    row = json.loads(line)
    assert row["agent"] == "helper" and row["reward"] == -0.25 and row["source"] == "implicit.sentiment"
    assert row["context"] == {"emotion": "confusion", "intensity": 0.7}
    assert row["time"].startswith("2023-11-15T22:13:20")
    assert "exported 1 feedback events" in capsys.readouterr().err


def test_export_everything_to_stdout(config, capsys):
    assert main(["feedback", "export", "--config", str(config)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["agent"] for r in rows] == ["helper", "helper", "scout"]
    assert rows[0]["users"] == ["alice"] and rows[0]["room"] == "test:g1:c1"


def test_summary_prints_an_agents_numbers(config, capsys):
    assert main(["feedback", "summary", "helper", "--config", str(config)]) == 0
    text = capsys.readouterr().out
    assert "2 events, mean +0.12 (1 positive, 1 negative)" in text
    assert main(["feedback", "summary", "helper", "--config", str(config), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["by_source"]["explicit.reaction"]["count"] == 1
    assert list(data["by_day"]) == ["2023-11-14", "2023-11-15"]
    assert main(["feedback", "summary", "nobody", "--config", str(config)]) == 1


def test_bad_input_is_a_clear_error(config, tmp_path, capsys):
    assert main(["feedback", "export", "--config", str(config), "--since", "last tuesday"]) == 2
    assert "cannot read 'last tuesday' as a time" in capsys.readouterr().err
    assert main(["feedback", "export", "--db", str(tmp_path / "missing.db")]) == 2
    assert "no database at" in capsys.readouterr().err


def test_parse_when_forms():
    assert parse_when("1700000000") == T0
    assert parse_when("7d", now=T0) == T0 - 7 * DAY
    assert parse_when("2023-11-14T22:13:20+00:00") == T0
    assert parse_when("2023-11-14T23:13:20+01:00") == T0
    with pytest.raises(UsageError):
        parse_when("soon")
