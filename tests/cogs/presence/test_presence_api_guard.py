"""The agent API's door and its webhooks' egress, on Steward's real HTTP server: client addresses that keep failing
authentication get 429 (and nobody else does), and webhook URLs that point at private or local hosts are refused
when they are set and again when an event is delivered."""

from __future__ import annotations

import asyncio
import re
import socket
import sys
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from structlog.testing import capture_logs

from bot.app import StewardApp
from tests.support import steward_env

from .conftest import run
from .test_presence_api import auth, token_for


async def start_app(make_settings, adapter, clock, **http) -> StewardApp:
    settings = make_settings(
        cogs={"enabled": ["presence"]},
        http={"enabled": True, "port": 0, **http},
        presence={"default_join_cooldown_seconds": 0},
    )
    app = StewardApp(settings, adapters=[adapter], clock=clock)
    await app.start()
    return app


@pytest.fixture
async def apps(make_settings, adapter, clock) -> AsyncIterator[list[StewardApp]]:
    started: list[StewardApp] = []
    yield started
    for app in started:
        await app.stop()


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[int, list[bytes]]]:
    received: list[bytes] = []

    async def hook(request: web.Request) -> web.Response:
        received.append(await request.read())
        return web.Response(status=204)

    peer = web.Application()
    peer.router.add_post("/hook", hook)
    runner = web.AppRunner(peer)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield site._server.sockets[0].getsockname()[1], received
    await runner.cleanup()


async def get_rooms(app: StewardApp, headers: dict[str, str], source: str = "127.0.0.1") -> aiohttp.ClientResponse:
    connector = aiohttp.TCPConnector(local_addr=(source, 0))
    async with (
        aiohttp.ClientSession(base_url=app.http.url, connector=connector) as http,
        http.get("/api/v1/rooms", headers=headers) as resp,
    ):
        await resp.read()
        return resp


async def test_a_client_address_that_keeps_failing_gets_429_and_nobody_else_does(make_settings, adapter, clock, apps):
    with capture_logs() as logs:
        app = await start_app(make_settings, adapter, clock)
        apps.append(app)
        good = await token_for(app)
        bad = good.split(".")[0] + ".guessed-secret"
        statuses, bodies = [], []
        for _ in range(30):
            resp = await get_rooms(app, auth(bad))
            statuses.append(resp.status)
            if resp.status == 429:
                bodies.append((await resp.json(), resp.headers["Retry-After"]))
    # The default budget is 10 requests without a valid token; then 429 with Retry-After and a JSON body.
    assert statuses == [401] * 10 + [429] * 20
    body, retry_after = bodies[0]
    assert body["error"] == "too many requests without a valid token"
    assert int(retry_after) == body["retry_after"] >= 1
    # The agent's own token still works from that address, and another address has its own budget.
    assert (await get_rooms(app, auth(good))).status == 200
    assert (await get_rooms(app, auth(bad), source="127.0.0.2")).status == 401
    assert (await get_rooms(app, {}, source="127.0.0.2")).status == 401  # no token at all counts the same
    m = app.metrics
    assert m.value("steward_api_rejected_total", reason="unauthorized") == 12
    assert m.value("steward_api_rejected_total", reason="too_many_failures") == 20
    # Logged with the address, once per run of refusals, never with the token.
    limited = [e for e in logs if e["event"] == "agent_api_client_limited"]
    assert [e["client"] for e in limited] == ["127.0.0.1"]
    assert not any(bad.split(".")[1] in repr(e) or good.split(".")[1] in repr(e) for e in logs)
    # The budget comes back with time (6 a minute by default: one every ten seconds).
    clock.advance(10)
    assert (await get_rooms(app, auth(bad))).status == 401
    assert (await get_rooms(app, auth(bad))).status == 429


async def test_forwarded_for_is_believed_only_from_a_trusted_proxy(make_settings, adapter, clock, apps):
    behind = await start_app(make_settings, adapter, clock, trusted_proxies=["127.0.0.1"])
    direct = await start_app(make_settings, adapter, clock)
    apps.extend([behind, direct])
    for _ in range(10):
        await get_rooms(behind, {"X-Forwarded-For": "198.51.100.7"})
    assert (await get_rooms(behind, {"X-Forwarded-For": "198.51.100.7"})).status == 429
    assert (await get_rooms(behind, {"X-Forwarded-For": "198.51.100.8"})).status == 401  # another client
    # The nearest untrusted hop is the client: what the client itself wrote further left is not believed.
    assert (await get_rooms(behind, {"X-Forwarded-For": "203.0.113.1, 198.51.100.7"})).status == 429
    # An IPv6 client is counted by its /64: another address in the prefix shares the budget, the next prefix not.
    for n in range(10):
        await get_rooms(behind, {"X-Forwarded-For": f"2001:db8::{n + 1:x}"})
    assert (await get_rooms(behind, {"X-Forwarded-For": "2001:db8::ffff"})).status == 429
    assert (await get_rooms(behind, {"X-Forwarded-For": "2001:db8:0:1::1"})).status == 401
    # Without trusted proxies the header is ignored: changing it does not buy a new budget.
    statuses = [(await get_rooms(direct, {"X-Forwarded-For": f"198.51.100.{n}"})).status for n in range(11)]
    assert statuses == [401] * 10 + [429]


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:9/hook", "loopback"),
        ("http://[::1]/hook", "loopback"),
        ("http://localhost:8080/hook", "loopback"),
        ("http://2130706433/hook", "loopback"),
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("http://10.0.0.5/hook", "private"),
        ("http://[::ffff:192.168.0.1]/hook", "private"),
        ("https://me:secret@hooks.example.com/hook", "userinfo"),
    ],
)
async def test_a_private_webhook_url_is_refused_when_it_is_set(make_settings, adapter, clock, apps, url, reason):
    app = await start_app(make_settings, adapter, clock)
    apps.append(app)
    token = await token_for(app)
    async with (
        aiohttp.ClientSession(base_url=app.http.url) as http,
        http.put("/api/v1/webhook", headers=auth(token), json={"url": url}) as resp,
    ):
        assert resp.status == 400
        body = await resp.json()
    assert body["reason"] == reason and body["error"].startswith("webhook URL refused: ")
    if reason not in ("userinfo", "metadata"):
        assert "egress_allow" in body["error"]
    assert await app.db.fetchone("SELECT * FROM api_webhooks") is None


async def test_the_allow_list_admits_private_webhooks_and_names_are_checked_at_delivery(
    make_settings, adapter, clock, apps, receiver
):
    port, received = receiver
    app = await start_app(make_settings, adapter, clock, egress_allow=["10.0.0.0/8"])
    apps.append(app)
    token = await token_for(app)
    async with aiohttp.ClientSession(base_url=app.http.url) as http:
        for url in ("http://10.1.2.3/hook", f"http://evil.example:{port}/hook"):
            async with http.put("/api/v1/webhook", headers=auth(token), json={"url": url}) as resp:
                assert resp.status == 200, await resp.text()
    # evil.example resolves to loopback (as a rebinding attacker's name would): the delivery is refused.
    outbox = app.cogs.cogs["presence"].outbox
    outbox.egress.resolver = LoopbackDns()
    await run(app, "invite helper")
    await outbox.drain()
    assert received == []
    m = app.metrics
    assert m.value("steward_agent_api_webhook_total", outcome="blocked") >= 1
    assert m.value("steward_egress_refused_total", reason="loopback") >= 1
    async with (  # the event is still there to long-poll
        aiohttp.ClientSession(base_url=app.http.url) as http,
        http.get("/api/v1/events", headers=auth(token)) as resp,
    ):
        assert (await resp.json())["events"]


async def test_a_stored_webhook_to_a_local_host_is_not_delivered_without_the_allow_list(
    make_settings, adapter, clock, apps, receiver
):
    port, received = receiver
    app = await start_app(make_settings, adapter, clock)
    apps.append(app)
    await token_for(app)
    # A webhook stored before the egress rule existed: refused at every delivery, never crashing the outbox.
    presence = app.cogs.cogs["presence"]
    presence.outbox.webhooks["helper"] = await presence.store.tokens.set_webhook(
        "helper", f"http://127.0.0.1:{port}/hook", at=clock.now()
    )
    await run(app, "invite helper")
    await presence.outbox.drain()
    assert received == []
    assert app.metrics.value("steward_agent_api_webhook_total", outcome="blocked") >= 1
    assert app.metrics.value("steward_agent_api_webhook_total", outcome="ok") == 0


class LoopbackDns(AbstractResolver):
    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [{"hostname": host, "host": "127.0.0.1", "port": port, "family": socket.AF_INET, "proto": 0, "flags": 0}]

    async def close(self) -> None:
        pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_the_running_steward_limits_failed_requests_and_refuses_a_metadata_webhook(tmp_path):
    """The real process: a console owner issues a token, a client floods bad tokens, the agent keeps working."""
    port = free_port()
    (tmp_path / "steward.toml").write_text(
        f'[database]\npath = "state/steward.db"\n[http]\nport = {port}\n[toxicity]\nenabled = false\n'
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "run", cwd=tmp_path, env=steward_env(),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdin is not None and proc.stdout is not None
    try:
        proc.stdin.write(b"/agent register helper\n/agent token helper\n")
        await proc.stdin.drain()
        token = ""
        while not token:
            line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode().strip()
            assert line, "steward ended before printing the token"
            token = line if re.fullmatch(r"[0-9a-f]{16}\.\S+", line) else ""
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession(base_url=base) as http:
            statuses = []
            for _ in range(12):
                async with http.get("/api/v1/me", headers=auth("0123456789abcdef.not-it")) as resp:
                    statuses.append(resp.status)
            assert statuses == [401] * 10 + [429] * 2
            async with http.get("/api/v1/me", headers=auth(token)) as resp:
                assert resp.status == 200 and (await resp.json())["agent"] == "helper"
            hook = {"url": "http://169.254.169.254/latest/meta-data/"}
            async with http.put("/api/v1/webhook", headers=auth(token), json=hook) as resp:
                assert resp.status == 400 and (await resp.json())["reason"] == "metadata"
            async with http.get("/metrics") as resp:
                metrics = await resp.text()
        assert 'steward_api_rejected_total{reason="too_many_failures"} 2.0' in metrics
        proc.stdin.write(b"/quit\n")
        await proc.stdin.drain()
        assert await asyncio.wait_for(proc.wait(), 60) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    log = (tmp_path / "state" / "steward.log").read_text()
    assert "agent_api_client_limited" in log and "not-it" not in log and token.split(".")[1] not in log
