"""Steward's HTTP server (aiohttp): ``/healthz``, ``/readyz``, ``/livez`` and ``/metrics``; cogs and adapters add
their routes (the agent API, Slack's HTTP mode) before it starts.

The health endpoints answer JSON, 200 when the answer's ``status`` is ``ok`` / ``ready`` / ``alive`` and 503
otherwise; a report that cannot be made is a 503 with the error named, never a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from aiohttp import web

from bot.logging import get_logger
from bot.metrics import Metrics

log = get_logger("steward.http")

HealthAnswer = Callable[[], dict[str, Any]]
GOOD = frozenset({"ok", "ready", "alive"})


def _alive() -> dict[str, Any]:
    return {"status": "alive"}


class HttpServer:
    def __init__(
        self,
        *,
        health: HealthAnswer,
        metrics: Metrics,
        host: str,
        port: int,
        max_body_bytes: int,
        ready: HealthAnswer | None = None,
        live: HealthAnswer | None = None,
    ) -> None:
        self._answers: dict[str, HealthAnswer] = {
            "/healthz": health,
            "/readyz": ready or health,
            "/livez": live or _alive,
        }
        self._metrics_registry = metrics
        self.host = host
        self.port = port
        self.web = web.Application(client_max_size=max_body_bytes)
        for path in self._answers:
            self.web.router.add_get(path, self._health_endpoint)
        self.web.router.add_get("/metrics", self._metrics)
        self._runner: web.AppRunner | None = None
        self.bound_port: int | None = None
        self.error: str | None = None

    def add_routes(self, routes: list[web.RouteDef]) -> None:
        self.web.router.add_routes(routes)

    async def start(self) -> None:
        """Listen; an OSError (the port is taken, the address is not ours) is kept for health and raised."""
        self._runner = web.AppRunner(self.web, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        try:
            await site.start()
        except OSError as exc:
            self.error = f"cannot listen on {self.host}:{self.port}: {exc}"
            await self._runner.cleanup()
            self._runner = None
            raise
        self.error = None
        server = site._server
        sockets = getattr(server, "sockets", None) or ()
        self.bound_port = sockets[0].getsockname()[1] if sockets else self.port
        log.info("http_listening", host=self.host, port=self.bound_port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.bound_port}"

    def health(self) -> dict[str, Any]:
        """The ``http`` component: up while listening; the bind error when it could not."""
        listening = self._runner is not None and self.bound_port is not None
        info: dict[str, Any] = {"up": listening, "host": self.host, "port": self.bound_port or self.port}
        if not listening:
            info["reason"] = self.error or "not listening"
        return info

    async def _health_endpoint(self, request: web.Request) -> web.Response:
        try:
            answer = self._answers[request.path]()
            code = 200 if answer.get("status") in GOOD else 503
        except Exception as exc:
            log.exception("health_report_failed", path=request.path, error=repr(exc))
            answer, code = {"status": "error", "problems": [f"health: {exc!r}"]}, 503
        return web.json_response(answer, status=code, dumps=_dumps)

    async def _metrics(self, request: web.Request) -> web.Response:
        return web.Response(
            body=self._metrics_registry.render(), headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"}
        )


def _dumps(value: Any) -> str:
    # A probe's detail that JSON cannot carry (a Path, a set) is shown as its str, not a 500.
    return json.dumps(value, default=str)
