"""The ``steward`` command: run the bot, check a config, replay a transcript, and the cogs' own commands.

Every failure that ends it prints one line on stderr (the problem, then what to do) and exits with the status
``bot.errors.ExitCode`` names; ``docs/operations.md`` lists them, with the signals and the database lock.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from bot.config import ConfigError, Settings, load_settings
from bot.errors import DatabaseError, ExitCode, StewardError
from bot.logging import configure_logging, get_logger
from bot.plugins import installed

if TYPE_CHECKING:
    from bot.app import StewardApp

log = get_logger("steward.cli")

DEFAULT_CONFIG_NAMES = ("steward.toml", "config.toml")


def default_config_path() -> Path | None:
    env = os.environ.get("STEWARD_CONFIG")
    if env:
        return Path(env)
    for name in DEFAULT_CONFIG_NAMES:
        if Path(name).exists():
            return Path(name)
    return None


def load_or_exit(path: Path | None) -> Settings:
    try:
        return load_settings(path)
    except ConfigError as exc:
        print(config_line(exc), file=sys.stderr)
        raise SystemExit(ExitCode.CONFIG) from None


def config_line(exc: ConfigError) -> str:
    """What ``steward`` prints for a config it cannot use: one line for a file it cannot read, else a line for
    every bad key."""
    return f"steward: {exc}"


def failure(exc: BaseException) -> tuple[str, int]:
    """The line printed on stderr and the exit status for an error that ends ``steward``."""
    if isinstance(exc, StewardError):
        return exc.line(), int(exc.code)
    if isinstance(exc, ConfigError):
        return config_line(exc), int(ExitCode.CONFIG)
    return (
        f"steward: internal error: {type(exc).__name__}: {exc} (the log has the details; please report it)",
        int(ExitCode.INTERNAL),
    )


# --- run -------------------------------------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace) -> int:
    settings = load_or_exit(args.config)
    from bot.app import StewardApp, build_adapters

    adapters = build_adapters(settings)
    log_path = next((a.log_path for a in adapters if a.log_path is not None), None)
    if log_path is not None and not args.log_stderr:
        # An adapter owns the terminal (the console chat); logs go to the file it names.
        configure_logging(settings.logging.level, "json", _log_file(log_path))
        if sys.stderr.isatty():
            print(f"(logs: {log_path})", file=sys.stderr)
    else:
        configure_logging(settings.logging.level, settings.logging.format)
    app = StewardApp(settings, adapters=adapters)
    code = asyncio.run(_run_app(app))
    _leave_when_threads_linger(code)
    return code


def _log_file(path: Path) -> TextIO:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return path.open("a", encoding="utf-8")
    except OSError as exc:
        raise DatabaseError(
            f"cannot write the log file {path}: {exc.strerror or exc}",
            hint="the console logs next to the database: give [database] path a folder Steward may write, "
            "set [console] log_file, or run with --log-stderr",
        ) from None


async def _run_app(app: StewardApp) -> int:
    """Run the app until it ends or a signal asks it to stop; the exit status (printing the one line that says why
    when it is not 0)."""
    task = asyncio.create_task(app.run(), name="steward-run")
    loop = asyncio.get_running_loop()
    requested: list[str] = []

    def request_stop(sig: signal.Signals) -> None:
        if requested:
            log.info("stop_already_requested", signal=sig.name)
            return
        requested.append(sig.name)
        log.info("stop_requested", signal=sig.name)
        task.cancel()

    signals = (signal.SIGINT, signal.SIGTERM)
    for sig in signals:
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, request_stop, sig)
    try:
        await task
    except asyncio.CancelledError:
        return int(ExitCode.OK)
    except Exception as exc:
        line, code = failure(exc)
        if code == ExitCode.INTERNAL:
            log.error("steward_failed", error=repr(exc), exc_info=exc)
        print(line, file=sys.stderr)
        return code
    finally:
        for sig in signals:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
    return int(ExitCode.OK)


def _leave_when_threads_linger(code: int, grace: float = 5.0) -> None:
    """Everything is closed by now; a thread some library left running must not keep the process alive for its
    supervisor: wait ``grace`` seconds for such threads, then exit anyway."""
    deadline = time.monotonic() + grace
    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join(max(0.0, deadline - time.monotonic()))
    lingering = [
        t.name for t in threading.enumerate() if t.is_alive() and not t.daemon and t is not threading.main_thread()
    ]
    if lingering:
        log.error("threads_left_running", threads=lingering, code=code)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


# --- check-config --------------------------------------------------------------------------------------------------


def cmd_check_config(args: argparse.Namespace) -> int:
    path = args.file or default_config_path()
    try:
        settings = load_settings(path)
    except ConfigError as exc:
        print(config_line(exc), file=sys.stderr)
        return int(ExitCode.CONFIG)
    where = path or "defaults (no file)"
    from bot.app import configured_platforms

    platforms = configured_platforms(settings) or [p.name for p in installed().adapters.values() if p.fallback]
    print(f"ok: {where} is valid; cogs: {', '.join(settings.cogs.enabled) or 'none'}; adapters: {', '.join(platforms)}")
    return 0


def cmd_config_example(args: argparse.Namespace) -> int:
    from bot.config_doc import render_example

    sys.stdout.write(render_example())
    return 0


# --- entry point ---------------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="steward", description="Moderation and agent presence for chat platforms.")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the bot (the console chat when no platform token is configured)")
    run.add_argument("--config", type=Path, default=default_config_path(), help="TOML config file")
    run.add_argument("--log-stderr", action="store_true", help="log to stderr even in the console chat")
    run.set_defaults(func=cmd_run)

    check = sub.add_parser("check-config", help="validate a config file and name every bad key")
    check.add_argument("file", nargs="?", type=Path, help="TOML config file (default: steward.toml / config.toml)")
    check.set_defaults(func=cmd_check_config)

    example = sub.add_parser("config-example", help="print a config file with every key and its default")
    example.set_defaults(func=cmd_config_example)

    for plugin in installed().commands.values():
        try:
            plugin.register(sub)
        except ImportError as exc:
            # An optional component whose extra is not installed: its commands are absent, the rest work.
            log.debug("cli_extension_unavailable", plugin=plugin.name, module=plugin.module, error=str(exc))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result = args.func(args)
        if asyncio.iscoroutine(result):
            result = asyncio.run(result)
    except (StewardError, ConfigError) as exc:
        line, code = failure(exc)
        print(line, file=sys.stderr)
        return code
    except KeyboardInterrupt:
        print("steward: interrupted", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        # The reader went away (``steward replay --json | head``): not an error of ours.
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # keeps the final flush quiet
        return 0
    return int(result or 0)


if __name__ == "__main__":
    raise SystemExit(main())
