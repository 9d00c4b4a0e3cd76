"""With JSON logging every line is one JSON object: Steward's own events, the libraries' stdlib records, warnings,
tracebacks, the event loop's unhandled errors and uncaught exceptions; in process and from a real ``steward run``."""

from __future__ import annotations

import asyncio
import gc
import io
import json
import logging
import subprocess
import sys
import threading
import warnings
from collections.abc import Iterator

import pytest

from bot.logging import configure_logging, get_logger, install_loop_exception_handler
from tests.support import steward_env

FIELDS = {"level", "logger", "timestamp", "event"}


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    out = io.StringIO()
    configure_logging("INFO", "json", out)
    try:
        yield out
    finally:
        configure_logging("WARNING", "json")  # the suite's own setting (tests/conftest.py)


def records(stream: io.StringIO) -> list[dict]:
    lines = stream.getvalue().splitlines()
    parsed = [json.loads(line) for line in lines]
    for record in parsed:
        assert FIELDS <= record.keys(), record
    return parsed


def test_library_records_warnings_and_tracebacks_are_json_lines(stream) -> None:
    logging.getLogger("discord.gateway").info("Shard ID %s has connected to Gateway", 0)
    logging.getLogger("apscheduler.scheduler").warning("Run time of job %r was missed", "sweep")
    logging.getLogger("aiohttp.access").info('127.0.0.1 "GET /healthz HTTP/1.1" 200')
    logging.getLogger("slack_bolt.App").debug("below the level: not written")
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn("this option is deprecated", DeprecationWarning, stacklevel=1)
    try:
        {}["missing"]
    except KeyError:
        logging.getLogger("discord.client").exception("Ignoring exception in on_message")
        get_logger("steward.bus").exception("listener_failed", cog="echo")
    got = records(stream)
    assert [(r["logger"], r["level"]) for r in got] == [
        ("discord.gateway", "info"),
        ("apscheduler.scheduler", "warning"),
        ("aiohttp.access", "info"),
        ("py.warnings", "warning"),
        ("discord.client", "error"),
        ("steward.bus", "error"),
    ]
    assert got[0]["event"] == "Shard ID 0 has connected to Gateway"
    assert "DeprecationWarning: this option is deprecated" in got[3]["event"]
    for record in got[4:]:
        assert record["exception"].startswith("Traceback (most recent call last):")
        assert "KeyError: 'missing'" in record["exception"]
    assert got[5]["event"] == "listener_failed" and got[5]["cog"] == "echo"


def test_an_unretrieved_task_exception_is_one_json_event(stream) -> None:
    async def main() -> None:
        install_loop_exception_handler(asyncio.get_running_loop())

        async def fails() -> None:
            raise ValueError("boom")

        task = asyncio.create_task(fails())
        await asyncio.sleep(0.01)
        assert task.done()
        del task
        gc.collect()

    asyncio.run(main())
    [record] = [r for r in records(stream) if r["event"] == "event_loop_exception"]
    assert record["problem"] == "Task exception was never retrieved" and record["logger"] == "asyncio"
    assert record["error"] == "ValueError('boom')" and "ValueError: boom" in record["exception"]


def test_uncaught_exceptions_in_the_main_thread_and_threads_are_json(stream) -> None:
    try:
        raise RuntimeError("nobody caught me")
    except RuntimeError as exc:
        sys.excepthook(type(exc), exc, exc.__traceback__)
    thread = threading.Thread(target=lambda: 1 / 0, name="worker-1")
    thread.start()
    thread.join()
    got = records(stream)
    assert [r["event"] for r in got] == ["uncaught_exception", "uncaught_exception_in_thread"]
    assert "RuntimeError: nobody caught me" in got[0]["exception"] and got[0]["level"] == "critical"
    assert got[1]["thread"] == "worker-1" and "ZeroDivisionError" in got[1]["exception"]


def test_console_format_renders_library_records_too(stream) -> None:
    out = io.StringIO()
    configure_logging("INFO", "console", out)
    logging.getLogger("apscheduler.scheduler").info("Scheduler started")
    line = out.getvalue()
    assert "Scheduler started" in line and "apscheduler.scheduler" in line and "[info" in line


def test_steward_run_logs_nothing_but_json_on_stderr(tmp_path) -> None:
    (tmp_path / "steward.toml").write_text(
        '[database]\npath = "state/steward.db"\n[http]\nport = 0\n[logging]\nformat = "json"\n'
        "[toxicity]\nenabled = false\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "run", "--log-stderr"],
        stdin=subprocess.DEVNULL,
        cwd=tmp_path,
        env=steward_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    parsed = [json.loads(line) for line in lines]
    assert all(FIELDS <= r.keys() for r in parsed)
    loggers = {r["logger"] for r in parsed}
    assert {"apscheduler.scheduler", "steward.app", "steward.storage", "steward.http"} <= loggers
    assert [r["event"] for r in parsed].count("steward_started") == 1


def test_steward_run_ends_normally_when_the_log_reader_goes_away(tmp_path) -> None:
    """``steward run --log-stderr 2>&1 | head -1``: the closed pipe drops the log lines, it does not wedge the bot."""
    (tmp_path / "steward.toml").write_text(
        '[database]\npath = "state/steward.db"\n[http]\nport = 0\n[logging]\nformat = "json"\n'
        "[toxicity]\nenabled = false\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run", "--log-stderr"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
        env=steward_env(),
    )
    try:
        assert proc.stderr is not None
        assert json.loads(proc.stderr.readline())["event"] == "migration_applied"
        proc.stderr.close()
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_logger_follows_every_new_configuration_and_writes_only_at_its_level(stream) -> None:
    log = get_logger("steward.test")
    log.debug("below the level")
    log.info("first", event="MessageCreated")
    quieter = io.StringIO()
    configure_logging("WARNING", "json", quieter)
    log.info("not written at WARNING")
    log.warning("second")
    configure_logging("DEBUG", "json", stream)
    log.debug("third")
    assert [(r["event"], r["logger"]) for r in records(stream)] == [
        ("first", "steward.test"),
        ("third", "steward.test"),
    ]
    assert records(stream)[0]["event_type"] == "MessageCreated"
    assert [r["event"] for r in records(quieter)] == ["second"]
    assert log.enabled_for(logging.DEBUG)


def test_captured_logs_see_a_logger_that_already_wrote(stream) -> None:
    from structlog.testing import capture_logs

    log = get_logger("steward.test")
    log.info("before")
    with capture_logs() as captured:
        log.warning("during", key=1)
    log.info("after")
    assert [(e["event"], e["key"]) for e in captured] == [("during", 1)]
    assert [r["event"] for r in records(stream)] == ["before", "after"]
