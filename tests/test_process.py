"""``steward run`` as a supervisor meets it: the real process, what it prints on stderr, its exit status, and that
it is gone within seconds on every path (a subprocess timeout fails the test)."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.errors import ExitCode
from tests.support import steward_env

# Generous for a loaded machine, short enough that a hang fails the test instead of stalling the suite.
EXIT_TIMEOUT = 20
BANNER = "Steward console:"


def write_config(tmp_path: Path, database: str, *, name: str = "steward.toml") -> Path:
    config = tmp_path / name
    config.write_text(
        f'[database]\npath = "{database}"\n[http]\nenabled = false\n[toxicity]\nenabled = false\n'
        f'[console]\nlog_file = "{tmp_path / "steward.log"}"\n'
    )
    return config


def steward(tmp_path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        input=stdin,
        cwd=tmp_path,
        env=steward_env(),
        capture_output=True,
        text=True,
        timeout=EXIT_TIMEOUT,
    )


def start_console(tmp_path: Path, config: Path) -> subprocess.Popen[str]:
    """A ``steward run`` console chat whose input stays open; returns once it has started (its banner)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run", "--config", str(config)],
        cwd=tmp_path,
        env=steward_env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()
    if BANNER not in first:
        proc.kill()
        _out, err = proc.communicate(timeout=EXIT_TIMEOUT)
        pytest.fail(f"steward did not start: {first!r} {err}")
    return proc


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def test_a_database_written_by_a_newer_steward_is_refused_in_one_line(tmp_path) -> None:
    db = tmp_path / "steward.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE schema_version (component TEXT PRIMARY KEY, version INTEGER, updated_at REAL)")
        conn.execute("INSERT INTO schema_version VALUES ('core', 999, 0)")
    config = write_config(tmp_path, str(db))
    done = steward(tmp_path, "run", "--config", str(config), stdin="hello\n")
    assert done.returncode == ExitCode.DATABASE
    line = one_line(done.stderr)
    assert str(db) in line and "schema version 999" in line and "restore a backup" in line
    assert BANNER not in done.stdout
    log = (tmp_path / "steward.log").read_text()
    assert '"event": "steward_start_failed"' in log and '"level": "error"' in log


@pytest.mark.parametrize(
    ("database", "problem"),
    [
        ("/proc/steward.db", "cannot create the database /proc/steward.db"),  # root cannot write /proc either
        ("afile/steward.db", "cannot create the database afile/steward.db"),  # its folder is a regular file
        ("garbage.db", "is not a SQLite database or is damaged"),
    ],
)
def test_a_database_that_cannot_be_opened_is_named_with_what_to_do(tmp_path, database, problem) -> None:
    (tmp_path / "afile").write_text("not a folder")
    (tmp_path / "garbage.db").write_bytes(b"this is not a database, just some text long enough " * 40)
    config = write_config(tmp_path, database)
    done = steward(tmp_path, "run", "--config", str(config), stdin="hello\n")
    assert done.returncode == ExitCode.DATABASE
    line = one_line(done.stderr)
    assert line.startswith("steward: ") and problem in line and "(" in line  # the problem, then the remedy


def test_the_console_log_next_to_an_unwritable_database_is_named(tmp_path) -> None:
    (tmp_path / "steward.toml").write_text(
        '[database]\npath = "/proc/steward.db"\n[http]\nenabled = false\n[toxicity]\nenabled = false\n'
    )
    done = steward(tmp_path, "run", stdin="hello\n")
    assert done.returncode == ExitCode.DATABASE
    assert "cannot write the log file /proc/steward.log" in one_line(done.stderr)


@pytest.mark.parametrize("command", ["run", "check-config"])
def test_a_config_file_that_cannot_be_read_says_why_in_one_line(tmp_path, command) -> None:
    (tmp_path / "latin1.toml").write_bytes('[console]\nuser = "Jos\xe9"\n'.encode("latin-1"))
    (tmp_path / "broken.toml").write_text("[database\n")
    (tmp_path / "folder.toml").mkdir()
    expected = {
        "latin1.toml": "it is not UTF-8 text (byte 0xe9",
        "broken.toml": "it is not valid TOML",
        "folder.toml": "it is a directory",
        "missing.toml": "it does not exist",
    }
    for name, problem in expected.items():
        path = tmp_path / name
        args = ["run", "--config", str(path)] if command == "run" else ["check-config", str(path)]
        done = steward(tmp_path, *args)
        assert done.returncode == ExitCode.CONFIG, (name, done.stderr)
        line = one_line(done.stderr)
        assert f"cannot read the config file {path}: {problem}" in line, line


def test_a_second_steward_on_the_same_database_is_refused_while_the_first_runs(tmp_path) -> None:
    db = tmp_path / "data" / "steward.db"
    first = start_console(tmp_path, write_config(tmp_path, str(db)))
    try:
        second = steward(tmp_path, "run", "--config", str(write_config(tmp_path, str(db), name="two.toml")))
        assert second.returncode == ExitCode.ALREADY_RUNNING
        line = one_line(second.stderr)
        assert f"another Steward (pid {first.pid}) is using {db}" in line
        assert "give this one its own [database] path" in line
        # A replay is a writer too: pointed at the live database it is refused the same way.
        transcript = tmp_path / "t.jsonl"
        transcript.write_text('{"ts": 1, "room": "r", "author": "a", "text": "hi"}\n')
        replay = steward(tmp_path, "replay", str(transcript), "--db", str(db), "--config", str(first.args[-1]))
        assert replay.returncode == ExitCode.ALREADY_RUNNING, replay.stderr
        # (its log goes to stderr at error level, so the start failure is logged there too, before the line)
        assert f"pid {first.pid}" in replay.stderr.strip().splitlines()[-1] and "Traceback" not in replay.stderr
        # The first one is untouched by all this and still answers.
        out, err = first.communicate("still here\n", timeout=EXIT_TIMEOUT)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 0, err
    assert "you: still here" in out
    # Once it has ended, the database is free again.
    again = steward(tmp_path, "run", "--config", str(tmp_path / "two.toml"), stdin="hello again\n")
    assert again.returncode == 0, again.stderr


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_the_console_chat_while_it_waits_for_input(tmp_path, sig) -> None:
    db = tmp_path / "steward.db"
    proc = start_console(tmp_path, write_config(tmp_path, str(db)))
    try:
        assert proc.stdin is not None
        proc.stdin.write("hello\n")
        proc.stdin.flush()
        assert proc.stdout is not None and "hello" in proc.stdout.readline()
        proc.send_signal(sig)  # its input is still open: it is waiting for the next line
        proc.wait(timeout=EXIT_TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    assert proc.stderr is not None and "Traceback" not in proc.stderr.read()
    log = (tmp_path / "steward.log").read_text()
    assert f'"signal": "{sig.name}"' in log and '"event": "steward_stopped"' in log
    # Everything was closed: the lock is free and the database opens for the next run.
    assert steward(tmp_path, "run", "--config", str(tmp_path / "steward.toml")).returncode == 0
