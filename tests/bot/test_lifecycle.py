"""``StewardApp`` start, run and stop on every path: a platform refusing us at connect or ending the session later,
a start that fails half-way, a database that another Steward holds or a newer one wrote."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator

import pytest

from bot.app import StewardApp
from bot.core import Core
from bot.errors import AdapterFatal, AlreadyRunning, DatabaseError, ExitCode
from storage.db import Database
from storage.lock import lock_path_for
from tests.support import RecordingAdapter, steward_env


class Platform(RecordingAdapter):
    """A platform adapter that can be told to fail at each step; it remembers which steps it went through."""

    def __init__(self, platform: str = "fake", *, fail_at: str = "", error: BaseException | None = None) -> None:
        super().__init__(platform)
        self.fail_at = fail_at
        self.error = error or AdapterFatal("fake", "the token was refused", hint="check FAKE_TOKEN", code=3)
        self.steps: list[str] = []
        self.closed = asyncio.Event()
        self.running = asyncio.Event()

    def _step(self, name: str) -> None:
        self.steps.append(name)
        if self.fail_at == name:
            raise self.error

    async def setup(self, app: Core) -> None:
        await super().setup(app)
        self._step("setup")

    async def start(self, app: Core) -> None:
        await super().start(app)
        self._step("start")
        self.running.set()

    async def stop(self) -> None:
        self.steps.append("stop")

    async def wait_closed(self) -> None:
        await self.closed.wait()
        self._step("wait_closed")


async def started(app: StewardApp, platform: Platform, run: asyncio.Task[None]) -> None:
    waiter = asyncio.create_task(platform.running.wait())
    await asyncio.wait([waiter, run], return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    assert not run.done(), run
    assert app.started_at is not None


async def assert_all_closed(app: StewardApp) -> None:
    assert not app.db.is_open
    assert not app.scheduler.started
    assert not app.cogs.cogs
    # The database is free for the next process: its lock was given back (the pid is wiped when it is).
    assert lock_path_for(app.settings.database.path).read_text() == ""


async def test_a_platform_refusing_the_token_at_start_ends_the_run_with_its_error(make_settings) -> None:
    platform = Platform(fail_at="start")
    app = StewardApp(make_settings(), adapters=[platform])
    with pytest.raises(AdapterFatal) as caught:
        await app.run()
    assert caught.value.code == ExitCode.CREDENTIALS
    assert caught.value.line() == "steward: fake: the token was refused (check FAKE_TOKEN)"
    assert platform.steps == ["setup", "start", "stop"]  # stopped although its start failed
    await assert_all_closed(app)


async def test_a_platform_ending_the_session_later_stops_everything_and_the_error_goes_on(make_settings) -> None:
    platform = Platform(fail_at="wait_closed", error=AdapterFatal("fake", "intents not allowed"))
    other = Platform("other")
    app = StewardApp(make_settings(), adapters=[platform, other])
    run = asyncio.create_task(app.run())
    await started(app, other, run)
    assert run.done() is False
    platform.closed.set()
    with pytest.raises(AdapterFatal) as caught:
        await run
    assert caught.value.code == ExitCode.PLATFORM and "intents not allowed" in caught.value.problem
    assert platform.steps[-1] == "stop" and other.steps == ["setup", "start", "stop"]
    await assert_all_closed(app)


async def test_an_adapter_ending_on_its_own_ends_the_run_normally(make_settings) -> None:
    platform = Platform()
    platform.closed.set()  # like the console at the end of its input
    app = StewardApp(make_settings(), adapters=[platform])
    await app.run()
    assert platform.steps == ["setup", "start", "wait_closed", "stop"]
    await assert_all_closed(app)


async def test_an_unexpected_failure_half_way_through_start_closes_what_was_opened(make_settings) -> None:
    platform = Platform(fail_at="setup", error=RuntimeError("a bug in setup"))
    app = StewardApp(make_settings(), adapters=[platform])
    with pytest.raises(RuntimeError, match="a bug in setup"):
        await app.run()
    assert platform.steps == ["setup", "stop"]
    await assert_all_closed(app)
    # Stopping again (a caller's own cleanup) is harmless.
    await app.stop()


async def test_a_cancelled_run_stops_everything(make_settings) -> None:
    platform = Platform()
    app = StewardApp(make_settings(), adapters=[platform])
    run = asyncio.create_task(app.run())
    await started(app, platform, run)
    run.cancel()  # what SIGTERM does in ``steward run``
    with pytest.raises(asyncio.CancelledError):
        await run
    assert platform.steps == ["setup", "start", "stop"]
    await assert_all_closed(app)


# Another process holding a database's lock the way a running Steward does, until its input closes.
HOLDER = """
import sys
from pathlib import Path
from storage.lock import FileLock, lock_path_for
FileLock(lock_path_for(Path(sys.argv[1]))).acquire()
print("locked", flush=True)
sys.stdin.read()
"""


@pytest.fixture
def holder(make_settings) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the test database's lock the way a running Steward does."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(make_settings().database.path)],
        env=steward_env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "locked\n"
        yield proc
    finally:
        proc.communicate("", timeout=30)


async def test_a_database_another_process_holds_is_refused_with_its_pid(make_settings, holder) -> None:
    settings = make_settings()
    path = settings.database.path
    platform = Platform()
    app = StewardApp(settings, adapters=[platform])
    with pytest.raises(AlreadyRunning) as caught:
        await app.run()
    assert caught.value.code == ExitCode.ALREADY_RUNNING
    assert caught.value.line() == (
        f"steward: another Steward (pid {holder.pid}) is using {path} "
        "(stop it or give this one its own [database] path)"
    )
    assert platform.steps == [] and not app.db.is_open
    # A reader (an export of a cog's data) still opens the database.
    async with Database(path) as reader:
        assert await reader.schema_version("core") == 0


async def test_the_database_is_free_once_the_process_holding_it_has_ended(make_settings, holder) -> None:
    holder.communicate("", timeout=30)
    app = StewardApp(make_settings(), adapters=[Platform()])
    await app.start()
    await app.stop()


async def test_apps_in_one_process_share_the_lock_and_release_it_with_the_last(make_settings) -> None:
    settings = make_settings()
    first, second = (StewardApp(settings, adapters=[Platform(name)]) for name in ("one", "two"))
    await first.start()
    await second.start()
    lock = lock_path_for(settings.database.path)
    assert lock.read_text() == f"{os.getpid()}\n"
    await first.stop()
    assert lock.read_text() == f"{os.getpid()}\n"  # the second still holds it
    await second.stop()
    assert lock.read_text() == ""


async def test_an_in_memory_database_takes_no_lock(make_settings) -> None:
    settings = make_settings(database={"path": ":memory:"})
    apps = [StewardApp(settings, adapters=[Platform()]) for _ in range(2)]
    for app in apps:
        await app.start()
    for app in apps:
        await app.stop()


async def test_a_database_written_by_a_newer_steward_is_refused_with_what_to_do(make_settings) -> None:
    settings = make_settings()
    with sqlite3.connect(settings.database.path) as conn:
        conn.execute("CREATE TABLE schema_version (component TEXT PRIMARY KEY, version INTEGER, updated_at REAL)")
        conn.execute("INSERT INTO schema_version VALUES ('core', 50, 0)")
    platform = Platform()
    app = StewardApp(settings, adapters=[platform])
    with pytest.raises(DatabaseError) as caught:
        await app.run()
    assert caught.value.code == ExitCode.DATABASE
    assert str(settings.database.path) in caught.value.problem and "schema version 50" in caught.value.problem
    assert "restore a backup" in caught.value.hint
    assert platform.steps == []  # no platform was touched
    await assert_all_closed(app)


async def test_a_cog_whose_tables_a_newer_steward_wrote_stops_the_start_too(make_settings) -> None:
    settings = make_settings(cogs={"enabled": ["moderator"]})
    async with Database(settings.database.path) as db:
        await db.execute("INSERT INTO schema_version VALUES ('moderation', 70, 0)")
    app = StewardApp(settings, adapters=[Platform()])
    with pytest.raises(DatabaseError) as caught:
        await app.run()
    assert "cog moderator: moderation: the database is at schema version 70" in caught.value.problem
    await assert_all_closed(app)
