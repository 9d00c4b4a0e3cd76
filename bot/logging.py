"""Structured logging: one event a line with its fields; readable key=value on a terminal, JSON otherwise."""

from __future__ import annotations

import logging
import sys
from typing import Any, Literal, TextIO

import structlog

LogFormat = Literal["auto", "console", "json"]


def configure_logging(level: str = "INFO", fmt: LogFormat = "auto", stream: TextIO | None = None) -> None:
    stream = stream or sys.stderr
    use_console = fmt == "console" or (fmt == "auto" and stream.isatty())
    renderer: structlog.typing.Processor = (
        structlog.dev.ConsoleRenderer(colors=stream.isatty()) if use_console else structlog.processors.JSONRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        cache_logger_on_first_use=False,
    )
    # Libraries (discord.py, slack-bolt, apscheduler, aiohttp) log through stdlib logging: same stream, same level.
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(max(logging.getLevelName(level.upper()), logging.INFO))


class Logger:
    """A structlog logger bound to a component name.

    structlog takes the message as its ``event`` argument, so a field called ``event`` (natural in an event bot)
    would collide with it; such a field is logged as ``event_type`` instead of raising inside a handler.
    """

    __slots__ = ("_log", "_name")

    def __init__(self, log: Any, name: str | None = None) -> None:
        self._log = log
        # The component name is added at each call rather than bound up front: binding structlog's lazy proxy at
        # import time would freeze the logger to the configuration of that moment (before configure_logging ran).
        self._name = name

    def _fields(self, fields: dict[str, Any]) -> dict[str, Any]:
        if "event" in fields:
            fields["event_type"] = fields.pop("event")
        if self._name is not None:
            fields.setdefault("logger", self._name)
        return fields

    def bind(self, **fields: Any) -> Logger:
        return Logger(self._log.bind(**self._fields(fields)))

    def debug(self, message: str, **fields: Any) -> None:
        self._log.debug(message, **self._fields(fields))

    def info(self, message: str, **fields: Any) -> None:
        self._log.info(message, **self._fields(fields))

    def warning(self, message: str, **fields: Any) -> None:
        self._log.warning(message, **self._fields(fields))

    def error(self, message: str, **fields: Any) -> None:
        self._log.error(message, **self._fields(fields))

    def exception(self, message: str, **fields: Any) -> None:
        self._log.exception(message, **self._fields(fields))

    def critical(self, message: str, **fields: Any) -> None:
        self._log.critical(message, **self._fields(fields))


def get_logger(name: str) -> Logger:
    return Logger(structlog.get_logger(name), name)
