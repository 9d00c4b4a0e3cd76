"""Steward's HTTP server (aiohttp): ``/healthz`` and ``/metrics``; cogs and adapters add their routes (the agent
API, Slack's HTTP mode) before it starts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from bot.logging import get_logger
from bot.metrics import Metrics

log = get_logger("steward.http")


class HttpServer:
    def __init__(
        self, *, health: Callable[[], dict[str, Any]], metrics: Metrics, host: str, port: int, max_body_bytes: int
    ) -> None:
        self._health = health
        self._metrics_registry = metrics
        self.host = host
        self.port = port
        self.web = web.Application(client_max_size=max_body_bytes)
        self.web.router.add_get("/healthz", self._healthz)
        self.web.router.add_get("/metrics", self._metrics)
        self._runner: web.AppRunner | None = None
        self.bound_port: int | None = None

    def add_routes(self, routes: list[web.RouteDef]) -> None:
        self.web.router.add_routes(routes)

    async def start(self) -> None:
        self._runner = web.AppRunner(self.web, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
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

    async def _healthz(self, request: web.Request) -> web.Response:
        report = self._health()
        return web.json_response(report, status=200 if report["status"] == "ok" else 503)

    async def _metrics(self, request: web.Request) -> web.Response:
        return web.Response(
            body=self._metrics_registry.render(), headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"}
        )
