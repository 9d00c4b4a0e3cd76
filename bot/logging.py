"""Structured logging: one event a line with its fields; readable key=value on a terminal, JSON otherwise.

Steward's own loggers (structlog) and the libraries' (discord.py, slack-bolt, APScheduler, aiohttp, asyncio,
``py.warnings``: stdlib ``logging``) render through the same processors and the same renderer, so with JSON on
every line on the stream is one JSON object with ``level``, ``logger``, ``timestamp`` and ``event``; a traceback
is the ``exception`` string field. Uncaught exceptions (``sys.excepthook``, threads) and the event loop's
exception handler (``install_loop_exception_handler``) are logged the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import threading
from types import TracebackType
from typing import Any, Literal, TextIO

import structlog
from structlog._config import BoundLoggerLazyProxy

LogFormat = Literal["auto", "console", "json"]


def _shared_processors() -> list[structlog.typing.Processor]:
    """What every line gets, whichever logger made it."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def _record_fields(logger: Any, method: str, event_dict: structlog.typing.EventDict) -> structlog.typing.EventDict:
    """A stdlib record's logger name as ``logger`` (Steward's own lines already carry theirs)."""
    record = event_dict.get("_record")
    if record is not None:
        event_dict.setdefault("logger", record.name)
    return event_dict


class _NamedPrintLogger(structlog.PrintLogger):
    """structlog's print logger, keeping the name it was asked for (``structlog.get_logger("steward.storage")``)."""

    def __init__(self, file: TextIO, name: str) -> None:
        super().__init__(file)
        self.name = name

    def msg(self, message: str) -> None:
        # A log stream that went away (the reader of a pipe ended) must not raise into the code that logged.
        with contextlib.suppress(OSError, ValueError):
            super().msg(message)

    log = debug = info = warn = warning = msg
    fatal = failure = err = error = critical = exception = msg


class _NamedPrintLoggerFactory:
    def __init__(self, file: TextIO) -> None:
        self._file = file

    def __call__(self, *args: Any) -> _NamedPrintLogger:
        return _NamedPrintLogger(self._file, str(args[0]) if args else "steward")


def _default_logger(logger: Any, method: str, event_dict: structlog.typing.EventDict) -> structlog.typing.EventDict:
    """Every line names a logger: the field a Steward ``Logger`` set, else the name structlog was asked for."""
    event_dict.setdefault("logger", getattr(logger, "name", "steward"))
    return event_dict


def configure_logging(level: str = "INFO", fmt: LogFormat = "auto", stream: TextIO | None = None) -> None:
    stream = stream or sys.stderr
    use_console = fmt == "console" or (fmt == "auto" and stream.isatty())
    # The console renderer prints tracebacks itself; JSON gets them as a string field.
    tail: list[structlog.typing.Processor] = (
        [structlog.dev.ConsoleRenderer(colors=stream.isatty())]
        if use_console
        else [structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]
    )
    structlog.configure(
        processors=[*_shared_processors(), _default_logger, *tail],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=_NamedPrintLoggerFactory(stream),
        cache_logger_on_first_use=False,
    )
    # Libraries log through stdlib logging: same stream, same processors and renderer, at least INFO (their DEBUG
    # is a flood).
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*_shared_processors(), _record_fields],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *tail],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(max(logging.getLevelName(level.upper()), logging.INFO))
    # Off and on again: the hook is installed even where something (a test runner) put its own in since.
    logging.captureWarnings(False)
    logging.captureWarnings(True)
    sys.excepthook = _uncaught
    threading.excepthook = _uncaught_in_thread


_crash_log = structlog.get_logger("steward.crash")


def _uncaught(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, value, tb)
        return
    _crash_log.critical("uncaught_exception", logger="steward.crash", error=repr(value), exc_info=(kind, value, tb))


def _uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_value is None:
        return
    _crash_log.critical(
        "uncaught_exception_in_thread",
        logger="steward.crash",
        thread=args.thread.name if args.thread is not None else None,
        error=repr(args.exc_value),
        exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
    )


def install_loop_exception_handler(loop: asyncio.AbstractEventLoop) -> None:
    """Log what the event loop could not hand to anyone ("Task exception was never retrieved") as one event."""
    loop.set_exception_handler(_loop_exception)


def _loop_exception(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    exc = context.get("exception")
    fields: dict[str, Any] = {"logger": "asyncio", "problem": context.get("message", "unhandled error in event loop")}
    for key in ("task", "future", "handle"):
        if key in context:
            fields[key] = repr(context[key])
    if isinstance(exc, BaseException):
        fields["error"] = repr(exc)
        fields["exc_info"] = (type(exc), exc, exc.__traceback__)
    structlog.get_logger("asyncio").error("event_loop_exception", **fields)


def _config_key() -> tuple[object, ...]:
    """What a bound logger is made of: a logger assembled under the same objects is the same logger.
    (``structlog.testing.capture_logs`` changes the processor list in place, which assembled loggers share.)"""
    config = structlog.get_config()
    return (config["processors"], config["wrapper_class"], config["logger_factory"], config["context_class"])


class Logger:
    """A structlog logger bound to a component name.

    structlog takes the message as its ``event`` argument, so a field called ``event`` (natural in an event bot)
    would collide with it; such a field is logged as ``event_type`` instead of raising inside a handler.

    The logger structlog assembles is kept while the configuration stays the same (assembling one costs more than
    writing a line), and a line below the configured level costs a comparison: its fields are not even looked at.
    """

    __slots__ = ("_assembled", "_key", "_lazy", "_level", "_log", "_name")

    def __init__(self, log: Any, name: str | None = None) -> None:
        self._log = log
        # The component name is added at each call rather than bound up front: binding structlog's lazy proxy at
        # import time would freeze the logger to the configuration of that moment (before configure_logging ran).
        self._name = name
        self._lazy = isinstance(log, BoundLoggerLazyProxy)
        self._key: tuple[object, ...] | None = None
        self._assembled: Any = log
        self._level = logging.NOTSET

    def _current(self) -> tuple[Any, int]:
        """The assembled logger for the configuration in force, and the least level it writes."""
        if not self._lazy:
            return self._log, logging.NOTSET  # already assembled (``bind``): it keeps its configuration
        key = _config_key()
        known = self._key
        if known is None or any(a is not b for a, b in zip(known, key, strict=True)):
            assembled = self._log.bind()
            level = getattr(assembled, "get_effective_level", None)
            self._assembled = assembled
            self._level = int(level()) if callable(level) else logging.NOTSET
            self._key = key
        return self._assembled, self._level

    def _fields(self, fields: dict[str, Any]) -> dict[str, Any]:
        if "event" in fields:
            fields["event_type"] = fields.pop("event")
        if self._name is not None:
            fields.setdefault("logger", self._name)
        return fields

    def _emit(self, level: int, method: str, message: str, fields: dict[str, Any]) -> None:
        assembled, least = self._current()
        if level >= least:
            getattr(assembled, method)(message, **self._fields(fields))

    def bind(self, **fields: Any) -> Logger:
        return Logger(self._log.bind(**self._fields(fields)))

    def debug(self, message: str, **fields: Any) -> None:
        self._emit(logging.DEBUG, "debug", message, fields)

    def info(self, message: str, **fields: Any) -> None:
        self._emit(logging.INFO, "info", message, fields)

    def warning(self, message: str, **fields: Any) -> None:
        self._emit(logging.WARNING, "warning", message, fields)

    def error(self, message: str, **fields: Any) -> None:
        self._emit(logging.ERROR, "error", message, fields)

    def exception(self, message: str, **fields: Any) -> None:
        self._emit(logging.ERROR, "exception", message, fields)

    def critical(self, message: str, **fields: Any) -> None:
        self._emit(logging.CRITICAL, "critical", message, fields)

    def enabled_for(self, level: int) -> bool:
        """Whether a line at ``level`` would be written (to skip building costly fields for nothing)."""
        return level >= self._current()[1]


def get_logger(name: str) -> Logger:
    return Logger(structlog.get_logger(name), name)
