from __future__ import annotations

import io
import json
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from adapters.replay import ReplayRunner, render_summary
from adapters.replay.transcript import BadLine, Line, parse_line
from tests.support import steward_env

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "transcript.jsonl"


def test_lines_are_validated_with_their_numbers() -> None:
    good = parse_line(3, '{"ts": "2026-01-01T00:00:00Z", "room": "r", "author": "a", "text": "hi", "reply_to": 2}')
    assert isinstance(good, Line) and good.entry.reply_to == "2" and good.message_id == "L3"
    assert good.entry.ts == 1767225600.0
    cases = {
        "not json": "not JSON",
        "[1, 2]": "expected a JSON object",
        '{"ts": 1, "room": "r", "author": "a"}': "text: Field required",
        '{"ts": "yesterday", "room": "r", "author": "a", "text": ""}': "not a timestamp",
        '{"ts": 1, "room": "a:b", "author": "a", "text": ""}': "room: Value error",
        '{"ts": 1, "room": "r", "author": "a", "text": "", "colour": "red"}': "colour: Extra inputs",
    }
    for raw, problem in cases.items():
        bad = parse_line(7, raw)
        assert isinstance(bad, BadLine) and bad.number == 7 and problem in bad.problem, (raw, bad)


async def test_the_example_transcript_replays_with_a_summary(make_settings) -> None:
    out = io.StringIO()
    runner = ReplayRunner(make_settings(), out=out, as_json=True, progress=False)
    summary = await runner.run(EXAMPLE)
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    errors = [r for r in records if "error" in r]
    decisions = [r for r in records if "verdict" in r]
    lines = EXAMPLE.read_text().splitlines()
    bad = [n for n, text in enumerate(lines, 1) if text.startswith("this line is not JSON") or '"robot"' in text]
    messages = [t for t in lines if t.strip() and not t.startswith("#")]
    assert [e["line"] for e in errors] == bad and len(bad) == 2
    assert summary.lines == len(decisions) == len(messages) - 2
    assert len(summary.bad_lines) == 2
    # Every agent decision is in the database with the id it was reported under.
    stored = {r.id: r for r in await _decisions(runner)}
    for record in decisions:
        if record["kind"] == "agent":
            assert stored[record["decision_id"]].verdict == record["verdict"]
            assert stored[record["decision_id"]].rule == record["rule"]
    # The example shows the gate at work: each of these rules fires on it, with its reason.
    fired = {r["rule"]: r["reason"] for r in decisions if r["verdict"] != "approve"}
    assert {"duplicate", "cooldown", "loop", "depth", "mentions"} <= set(fired)
    assert all(fired.values())
    posted = [a for r in decisions for a in r.get("actions", []) if a["action"] == "PostAsAgent"]
    assert len(posted) == sum(1 for r in decisions if r["kind"] == "agent" and r["verdict"] != "reject")
    table = io.StringIO()
    render_summary(summary, table)
    text = table.getvalue()
    assert "What the rules caught" in text and "Decisions by rule" in text and "2 malformed line(s) skipped" in text
    assert fired["loop"].split(":")[0] in text


async def _decisions(runner: ReplayRunner):
    from storage.core import DecisionLog
    from storage.db import Database

    async with Database(runner.settings.database.path) as db:
        return await DecisionLog(db).recent(limit=10_000)


def test_killing_a_replay_half_way_keeps_every_reported_decision(tmp_path) -> None:
    # A long transcript, so the process is surely still running when it is killed.
    transcript = tmp_path / "long.jsonl"
    with transcript.open("w") as fh:
        for n in range(4000):
            author, kind = (f"agent{n % 5}", "agent") if n % 2 else (f"user{n % 3}", "human")
            fh.write(
                json.dumps(
                    {
                        "ts": 1_700_000_000 + n,
                        "room": f"r{n % 4}",
                        "author": author,
                        "kind": kind,
                        "text": f"message number {n}",
                        "id": str(n),
                    }
                )
                + "\n"
            )
    db = tmp_path / "replay.db"
    (tmp_path / "steward.toml").write_text("[toxicity]\nenabled = false\n")
    env = steward_env()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "replay", str(transcript), "--json", "--db", str(db)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    reported: list[dict] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        record = json.loads(line)
        if record.get("kind") == "agent":
            reported.append(record)
        if len(reported) >= 200:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    with sqlite3.connect(db) as conn:
        rows = dict(conn.execute("SELECT id, verdict FROM decisions").fetchall())
    assert len(rows) < 2000  # it really was cut short
    for record in reported:
        assert rows[record["decision_id"]] == record["verdict"]


def test_timestamps_that_are_no_time_are_malformed_lines() -> None:
    for raw in ("NaN", "Infinity", "-Infinity", "-1", "1e12", "1700000000000", "true", '"yesterday"', "null"):
        bad = parse_line(4, '{"ts": ' + raw + ', "room": "r", "author": "a", "text": "hi"}')
        assert isinstance(bad, BadLine) and bad.number == 4 and bad.problem.startswith("ts: "), (raw, bad)
    assert "milliseconds?" in parse_line(1, '{"ts": 1700000000000, "room": "r", "author": "a", "text": ""}').problem
    latest = parse_line(1, '{"ts": "9999-12-31T23:59:59Z", "room": "r", "author": "a", "text": ""}')
    assert isinstance(latest, Line)


def test_a_replay_skips_and_counts_lines_whose_time_is_not_a_time(tmp_path) -> None:
    transcript = tmp_path / "t.jsonl"
    transcript.write_text(
        '{"ts": 1700000000, "room": "r", "author": "ann", "text": "hello"}\n'
        '{"ts": NaN, "room": "r", "author": "ann", "text": "when?"}\n'
        '{"ts": 1e12, "room": "r", "author": "ann", "text": "much later"}\n'
        '{"ts": 1700000001, "room": "r", "author": "bob", "text": "hi ann"}\n'
    )
    (tmp_path / "steward.toml").write_text("[toxicity]\nenabled = false\n")
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "replay", str(transcript), "--json", "--db", str(tmp_path / "r.db")],
        cwd=tmp_path,
        env=steward_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["line"] for r in records if "error" in r] == [2, 3]
    assert [r["author"] for r in records if "verdict" in r] == ["ann", "bob"]
    assert "2 messages replayed, 2 malformed" in done.stderr


def test_ctrl_c_during_a_replay_says_how_far_it_got_and_exits_130(tmp_path) -> None:
    transcript = tmp_path / "long.jsonl"
    with transcript.open("w") as fh:
        for n in range(4000):
            fh.write(json.dumps({"ts": 1_700_000_000 + n, "room": "r", "author": f"u{n % 3}", "text": f"m {n}"}) + "\n")
    db = tmp_path / "replay.db"
    (tmp_path / "steward.toml").write_text("[toxicity]\nenabled = false\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "replay", str(transcript), "--json", "--db", str(db)],
        cwd=tmp_path,
        env=steward_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    for _ in range(50):
        proc.stdout.readline()
    proc.send_signal(signal.SIGINT)
    try:
        _out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    (line,) = [text for text in err.splitlines() if "interrupted" in text]
    assert line.startswith("steward replay: interrupted at line ") and " of 4000 (" in line and str(db) in line
    # Everything was closed: the database is whole and free for the next writer.
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
