"""Failures that end ``steward``: each names the problem and what to do, and maps to a documented exit code.

A supervisor (systemd, Docker, Kubernetes) reads the exit code: 0 only after a requested stop (a signal, the end of
the console's input), non-zero whenever Steward could not start or a platform ended the session for good. The
codes are listed in ``docs/operations.md``; keep the two in step.
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """The exit status of ``steward`` (and of ``steward run`` in particular)."""

    OK = 0
    INTERNAL = 1  # a bug: an exception nothing expected; the log has its traceback
    CONFIG = 2  # the config file cannot be read or names a bad setting (argparse's usage errors also use 2)
    CREDENTIALS = 3  # a platform refused the token (Discord 4004, Slack invalid_auth ...)
    PLATFORM = 4  # a platform ended the session for good (Discord 4014 disallowed intents, 4013 ...)
    DATABASE = 5  # the database cannot be opened, is read-only, corrupt, or was written by a newer Steward
    ALREADY_RUNNING = 6  # another Steward process holds the database
    UNAVAILABLE = 7  # a platform or service could not be reached at start within the retry budget
    INTERRUPTED = 130  # Ctrl-C during a one-shot command (replay, migrate); ``steward run`` stops with 0


class StewardError(Exception):
    """An error that ends the process with ``code``: one line of ``problem``, then ``hint`` (what to do)."""

    code: ExitCode = ExitCode.INTERNAL

    def __init__(self, problem: str, *, hint: str = "", code: ExitCode | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.hint = hint
        if code is not None:
            self.code = code

    def line(self) -> str:
        """What ``steward`` prints on stderr before it exits: one line, the problem then the remedy."""
        return f"steward: {self.problem}" + (f" ({self.hint})" if self.hint else "")


class StartupError(StewardError):
    """Steward could not start: a component failed while opening."""


class DatabaseError(StartupError):
    code = ExitCode.DATABASE


class AlreadyRunning(StartupError):
    code = ExitCode.ALREADY_RUNNING


class AdapterFatal(StewardError):
    """A platform refused us for good (bad credentials, disallowed intents): reconnecting cannot help.

    An adapter raises it from ``start()`` (refused at connect) or from ``wait_closed()`` (the session was ended
    later); ``StewardApp.run`` stops everything and ``steward run`` exits with ``code``.
    """

    code = ExitCode.PLATFORM

    def __init__(self, platform: str, problem: str, *, hint: str = "", code: ExitCode | None = None) -> None:
        super().__init__(f"{platform}: {problem}", hint=hint, code=code)
        self.platform = platform
