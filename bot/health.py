"""Health that follows the components: the registry behind ``/healthz``, ``/readyz``, ``/livez`` and ``status``.

Every component reports a dict: ``up`` (bool), ``reason`` (why, when down), ``required`` (whether its being down
makes Steward ``degraded``; True unless the component says otherwise) and its own details. The components are
Steward's own (``database``, ``scheduler``, ``bus``, ``event_loop``, ``http``), each adapter (by platform), each
probe a cog registered (``Core.health_probes``, ``ctx.add_health``) and each cog that failed to load. A probe
that raises is reported as its component down with the error's repr; nothing here ever raises to the caller.

``HealthMonitor`` also runs the background checks whose results the probes read (probes are sync and cheap): a
loop-lag watchdog (one task measuring how late a short sleep wakes), the bus's full-queue tracker (same task)
and a periodic ``SELECT 1`` with a timeout on the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from bot.logging import get_logger, install_loop_exception_handler

if TYPE_CHECKING:
    from bot.core import Core

log = get_logger("steward.health")

HealthProbe = Callable[[], dict[str, Any]]

# The watchdog's period, and the lag past which the process counts as wedged (/livez answers 503).
LAG_INTERVAL = 0.5
WEDGED_AFTER = 5.0
# The database is asked every DB_INTERVAL seconds and must answer within DB_TIMEOUT.
DB_INTERVAL = 10.0
DB_TIMEOUT = 2.0
# A bus queue that stays full this long means its listeners are not keeping up: the bus is down.
BUS_STUCK_AFTER = 30.0
# Component gauges are refreshed by the watchdog at most this often (and at every report).
GAUGE_EVERY = 1.0


class HealthAdapter(Protocol):
    """What the registry reads of an adapter."""

    @property
    def platform(self) -> str: ...

    def health(self) -> dict[str, Any]: ...


class CogStates(Protocol):
    """What the registry reads of the cog registry."""

    @property
    def cogs(self) -> Mapping[str, object]: ...

    @property
    def failed(self) -> Mapping[str, str]: ...


def component(name: str, kind: str, raw: object, *, default_reason: str = "down") -> dict[str, Any]:
    """One component's entry: the probe's dict with ``up``, ``required`` and ``kind`` settled, ``reason`` when
    down (the probe's ``reason``, else its ``error``, else ``default_reason``)."""
    if not isinstance(raw, Mapping):
        return {"up": False, "required": True, "kind": kind, "reason": f"its probe returned {type(raw).__name__}"}
    entry = dict(raw)
    entry["up"] = bool(entry.get("up"))
    entry["required"] = bool(entry.get("required", True))
    entry["kind"] = kind
    if entry["up"]:
        entry.pop("reason", None)
    else:
        entry["reason"] = str(entry.get("reason") or entry.get("error") or default_reason)
    return entry


def probed(name: str, kind: str, probe: HealthProbe, *, default_reason: str = "down") -> dict[str, Any]:
    """Run ``probe``; an exception is the component down with the error's repr."""
    try:
        raw = probe()
    except Exception as exc:
        return {"up": False, "required": True, "kind": kind, "reason": repr(exc)}
    return component(name, kind, raw, default_reason=default_reason)


class LoopWatchdog:
    """How late the event loop wakes a short sleep: the loop's lag, measured by one task."""

    def __init__(self, interval: float = LAG_INTERVAL, wedged_after: float = WEDGED_AFTER) -> None:
        self.interval = interval
        self.wedged_after = wedged_after
        self.lag = 0.0
        self.max_lag = 0.0
        self.last_tick: float | None = None

    def tick(self, lag: float, now: float) -> None:
        self.lag = max(lag, 0.0)
        self.max_lag = max(self.max_lag, self.lag)
        self.last_tick = now

    def current_lag(self, now: float) -> float:
        """The last measured lag, or longer when the watchdog is overdue (the loop is blocked right now)."""
        if self.last_tick is None:
            return 0.0
        return max(self.lag, now - self.last_tick - self.interval)

    def probe(self) -> dict[str, Any]:
        lag = self.current_lag(time.monotonic())
        info: dict[str, Any] = {
            "up": lag < self.wedged_after,
            "lag_seconds": round(lag, 4),
            "max_lag_seconds": round(self.max_lag, 4),
        }
        if not info["up"]:
            info["reason"] = f"event loop lagging {lag:.1f}s (limit {self.wedged_after:g}s)"
        return info


class BusWatch:
    """Queue depth, dropped events, and since when each full shard queue has been full."""

    def __init__(self, core: Core, stuck_after: float = BUS_STUCK_AFTER) -> None:
        self._bus = core.bus
        self._dropped = core.metrics.events_dropped
        self.stuck_after = stuck_after
        self._full_since: dict[int, float] = {}

    def sample(self, now: float) -> None:
        for index, depth in enumerate(self._bus.queue_depths):
            if depth >= self._bus.queue_size:
                self._full_since.setdefault(index, now)
            else:
                self._full_since.pop(index, None)

    def dropped(self) -> int:
        return int(sum(s.value for m in self._dropped.collect() for s in m.samples if s.name.endswith("_total")))

    def probe(self) -> dict[str, Any]:
        now = time.monotonic()
        info: dict[str, Any] = {"up": True, "pending": self._bus.pending, "dropped": self.dropped()}
        full_for = max((now - since for since in self._full_since.values()), default=0.0)
        if full_for > self.stuck_after:
            info["up"] = False
            info["reason"] = f"a bus queue has been full for {full_for:.0f}s: listeners are not keeping up"
        return info


class DatabaseCheck:
    """The database's last answer to ``SELECT 1`` (asked in the background; the probe only reads it)."""

    def __init__(self, core: Core, timeout: float = DB_TIMEOUT) -> None:
        self._db = core.db
        self.timeout = timeout
        self.error: str | None = "not checked yet"
        self.checked_at: float | None = None
        self.seconds: float | None = None

    async def check(self) -> bool:
        try:
            async with asyncio.timeout(self.timeout):
                self.seconds = await self._db.ping()
        except TimeoutError:
            self._failed(f"no answer to SELECT 1 within {self.timeout:g}s")
        except Exception as exc:
            self._failed(repr(exc))
        else:
            if self.error is not None and self.checked_at is not None:
                log.info("database_answers_again", path=str(self._db.path))
            self.error = None
        self.checked_at = time.time()
        return self.error is None

    def _failed(self, error: str) -> None:
        if self.error != error:
            log.error("database_unhealthy", path=str(self._db.path), error=error)
        self.error = error
        self.seconds = None

    def probe(self) -> dict[str, Any]:
        info: dict[str, Any] = {"up": self.error is None, "path": str(self._db.path), "checked_at": self.checked_at}
        if self.seconds is not None:
            info["answer_seconds"] = round(self.seconds, 4)
        if self.error is not None:
            info["reason"] = self.error
        return info


class HealthMonitor:
    """The component registry and the background checks; the app owns one."""

    def __init__(
        self,
        core: Core,
        *,
        adapters: Callable[[], Iterable[HealthAdapter]],
        cogs: CogStates,
        started: Callable[[], bool],
        db_interval: float = DB_INTERVAL,
    ) -> None:
        self.core = core
        self._adapters = adapters
        self._cogs = cogs
        self._started = started
        self.db_interval = db_interval
        self.watchdog = LoopWatchdog()
        self.bus = BusWatch(core)
        self.database = DatabaseCheck(core)
        self._up_gauge = core.metrics.gauge(
            "steward_component_up", "1 when the component is up, 0 when down", ["component"]
        )
        self._lag_gauge = core.metrics.gauge("steward_event_loop_lag_seconds", "How late the event loop woke", [])
        self._gauged: set[str] = set()
        self._gauged_at = 0.0
        self._tasks: list[asyncio.Task[None]] = []

    # --- background checks ----------------------------------------------------------------------------------

    async def start(self) -> None:
        """Ask the database once now (so the first report is true), then keep watching in the background."""
        if self._tasks:
            return
        install_loop_exception_handler(asyncio.get_running_loop())
        await self.database.check()
        self._tasks = [
            asyncio.create_task(self._watch_loop(), name="steward-health-watchdog"),
            asyncio.create_task(self._watch_database(), name="steward-health-database"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def _watch_loop(self) -> None:
        loop = asyncio.get_running_loop()
        interval = self.watchdog.interval
        while True:
            before = loop.time()
            await asyncio.sleep(interval)
            lag = loop.time() - before - interval
            now = time.monotonic()
            self.watchdog.tick(lag, now)
            self._lag_gauge.set(self.watchdog.lag)
            self.bus.sample(now)
            if now - self._gauged_at >= GAUGE_EVERY:
                self.components()

    async def _watch_database(self) -> None:
        while True:
            await asyncio.sleep(self.db_interval)
            await self.database.check()

    # --- the registry ---------------------------------------------------------------------------------------

    def _core_probes(self) -> dict[str, HealthProbe]:
        probes: dict[str, HealthProbe] = {
            "database": self.database.probe,
            "scheduler": lambda: self.core.scheduler.health,
            "bus": self.bus.probe,
            "event_loop": self.watchdog.probe,
        }
        http = self.core.http
        if http is not None:
            probes["http"] = http.health
        return probes

    def components(self) -> dict[str, dict[str, Any]]:
        """Every component's entry, by name; refreshes ``steward_component_up``."""
        found = {name: probed(name, "core", probe) for name, probe in self._core_probes().items()}
        for adapter in self._adapters():
            found[adapter.platform] = probed(
                adapter.platform, "adapter", adapter.health, default_reason="not connected"
            )
        for name, probe in list(self.core.health_probes.items()):
            # A probe named like a core part or an adapter never hides it.
            found.setdefault(name, probed(name, "cog", probe))
        for name, error in self._cogs.failed.items():
            found.setdefault(name, {"up": False, "required": True, "kind": "cog", "reason": f"not loaded: {error}"})
        self._gauge(found)
        return found

    def _gauge(self, found: Mapping[str, Mapping[str, Any]]) -> None:
        for name in self._gauged - found.keys():
            with contextlib.suppress(KeyError):
                self._up_gauge.remove(name)
        for name, entry in found.items():
            self._up_gauge.labels(name).set(1 if entry["up"] else 0)
        self._gauged = set(found)
        self._gauged_at = time.monotonic()

    # --- the answers ----------------------------------------------------------------------------------------

    def report(self) -> dict[str, Any]:
        """The full report (``/healthz``, ``status``): ``status`` ok / degraded / starting and why."""
        found = self.components()
        problems = [f"{n}: {e['reason']}" for n, e in found.items() if not e["up"] and e["required"]]
        notes = [f"{n}: {e['reason']}" for n, e in found.items() if not e["up"] and not e["required"]]
        started = self._started()
        if not started:
            status = "starting"
            problems.insert(0, "steward: start not complete")
        else:
            status = "degraded" if problems else "ok"
        return {
            "status": status,
            "problems": problems,
            "notes": notes,
            "started": started,
            "event_loop_lag_seconds": found["event_loop"].get("lag_seconds", 0.0),
            "components": found,
            "adapters": {n: e for n, e in found.items() if e["kind"] == "adapter"},
            "cogs": {"loaded": sorted(self._cogs.cogs), "failed": dict(self._cogs.failed)},
        }

    def readiness(self) -> dict[str, Any]:
        """``/readyz``: ready once started and while every required component is up."""
        report = self.report()
        ready = report["status"] == "ok"
        return {"status": "ready" if ready else "not_ready", "problems": report["problems"]}

    def liveness(self) -> dict[str, Any]:
        """``/livez``: the event loop answers and is not wedged."""
        lag = self.watchdog.current_lag(time.monotonic())
        alive = lag < self.watchdog.wedged_after
        return {"status": "alive" if alive else "wedged", "event_loop_lag_seconds": round(lag, 4)}


def summary(report: Mapping[str, Any]) -> str:
    """The report as the ``status`` command shows it: the status, what is wrong, then each component."""
    lines = [f"status: {report['status']}"]
    lines += [f"problem: {p}" for p in report.get("problems", ())]
    lines += [f"note: {p}" for p in report.get("notes", ())]
    adapters = report.get("adapters", {})
    lines.append(
        "adapters: " + (", ".join(f"{n} ({'up' if e.get('up') else 'down'})" for n, e in adapters.items()) or "none")
    )
    cogs = report.get("cogs", {})
    lines.append("cogs: " + (", ".join(cogs.get("loaded", ())) or "none"))
    for name, entry in report.get("components", {}).items():
        state = "up" if entry.get("up") else f"down ({entry.get('reason')})"
        optional = "" if entry.get("required", True) else " [optional]"
        # The error a reason already quotes is not repeated.
        shown = _SHOWN | ({"error"} if str(entry.get("error")) in str(entry.get("reason")) else set())
        details = ", ".join(f"{k}={v}" for k, v in entry.items() if k not in shown)
        lines.append(f"{name}: {state}{optional}" + (f"; {details}" if details else ""))
    return "\n".join(lines)


_SHOWN = frozenset({"up", "reason", "required", "kind"})
