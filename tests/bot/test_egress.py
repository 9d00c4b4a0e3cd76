"""The egress client against real local HTTP servers: what it refuses by default, what the allow-list lets through,
names that resolve to private addresses, redirects checked hop by hop, and the response cap."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from ipaddress import ip_address

import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from structlog.testing import capture_logs

from bot.config import ConfigError
from bot.egress import EgressClient, EgressPolicy, EgressRefused
from bot.metrics import Metrics
from tests.support import SettingsFactory


@dataclass
class Peer:
    """A local HTTP server that records what reached it."""

    host: str
    port: int = 0
    received: list[tuple[str, str, bytes]] = field(default_factory=list)
    routes: dict[str, Callable[[web.Request], Awaitable[web.StreamResponse]]] = field(default_factory=dict)

    def url(self, path: str = "/hook", host: str | None = None) -> str:
        return f"http://{host or self.host}:{self.port}{path}"


@pytest.fixture
async def serve() -> AsyncIterator[Callable[..., Awaitable[Peer]]]:
    runners: list[web.AppRunner] = []

    async def start(host: str = "127.0.0.1", **routes: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> Peer:
        peer = Peer(host, routes=routes)

        async def handle(request: web.Request) -> web.StreamResponse:
            peer.received.append((request.method, request.path, await request.read()))
            route = peer.routes.get(request.path.strip("/"))
            return await route(request) if route else web.Response(status=204)

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handle)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, host, 0)
        await site.start()
        runners.append(runner)
        peer.port = site._server.sockets[0].getsockname()[1]
        return peer

    yield start
    for runner in runners:
        await runner.cleanup()


class FakeResolver(AbstractResolver):
    """A DNS that answers from a table and counts its lookups (the connector must connect to what it said)."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.lookups: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.lookups.append(host)
        if host not in self.table:
            raise OSError(f"no such host {host}")
        return [
            {
                "hostname": host,
                "host": a,
                "port": port,
                "family": socket.AF_INET6 if ":" in a else socket.AF_INET,
                "proto": 0,
                "flags": 0,
            }
            for a in self.table[host]
        ]

    async def close(self) -> None:
        pass


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
async def client_for(metrics) -> AsyncIterator[Callable[..., EgressClient]]:
    made: list[EgressClient] = []

    def make(*allow: str, resolver: AbstractResolver | None = None, **options: int) -> EgressClient:
        client = EgressClient(EgressPolicy.parse(allow), metrics, resolver=resolver, **options)
        made.append(client)
        return client

    yield make
    for client in made:
        await client.close()


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("[::1]", "loopback"),
        ("[::ffff:127.0.0.1]", "loopback"),
        ("2130706433", "loopback"),  # 127.0.0.1 as one number
        ("0x7f.1", "loopback"),
        ("localhost", "loopback"),
        ("169.254.169.254", "metadata"),
        ("10.20.30.40", "private"),
        ("192.168.1.1", "private"),
        ("100.64.0.1", "shared"),
        ("0.0.0.0", "unspecified"),
        ("[fd12::1]", "private"),
        ("[fe80::1]", "link_local"),
    ],
)
async def test_private_and_local_destinations_are_refused_by_default(serve, client_for, metrics, host, reason):
    peer = await serve()
    client = client_for()
    with capture_logs() as logs, pytest.raises(EgressRefused) as caught:
        await client.request("POST", peer.url(host=host), data=b"{}", time_limit=5)
    assert caught.value.reason == reason
    assert peer.received == []  # nothing reached the local server
    assert metrics.value("steward_egress_refused_total", reason=reason) == 1
    assert [(e["event"], e["reason"]) for e in logs if e["event"] == "egress_refused"] == [("egress_refused", reason)]


async def test_an_allow_listed_local_server_receives_the_payload(serve, client_for):
    peer = await serve()
    response = await client_for("127.0.0.1").request(
        "POST", peer.url(), data=b'{"ok":1}', headers={"Content-Type": "application/json"}, time_limit=5
    )
    assert response.status == 204 and response.ok
    assert peer.received == [("POST", "/hook", b'{"ok":1}')]


async def test_an_allowed_network_covers_its_addresses_only(serve, client_for):
    peer = await serve("127.0.0.2")
    assert (await client_for("127.0.0.0/8").request("GET", peer.url(), time_limit=5)).ok
    with pytest.raises(EgressRefused):
        await client_for("127.0.0.1").request("GET", peer.url(), time_limit=5)
    assert len(peer.received) == 1


async def test_a_public_looking_name_that_resolves_to_loopback_is_refused(serve, client_for):
    peer = await serve()
    dns = FakeResolver({"evil.example": ["127.0.0.1"], "mixed.example": ["93.184.216.34", "127.0.0.1"]})
    client = client_for(resolver=dns)
    for name in ("evil.example", "mixed.example"):  # every address must be public, not just one
        with pytest.raises(EgressRefused) as caught:
            await client.request("POST", peer.url(host=name), data=b"x", time_limit=5)
        assert caught.value.reason == "loopback" and caught.value.address == "127.0.0.1"
    assert peer.received == []


async def test_the_connection_goes_to_the_checked_address_without_a_second_lookup(serve, client_for):
    peer = await serve()
    # hooks.internal exists only in the fake DNS: the request can only arrive if the connector used its answer.
    dns = FakeResolver({"hooks.internal": ["127.0.0.1"]})
    client = client_for("hooks.internal", resolver=dns)
    assert (await client.request("POST", peer.url(host="hooks.internal"), data=b"p", time_limit=5)).ok
    assert peer.received == [("POST", "/hook", b"p")]
    assert dns.lookups == ["hooks.internal"]


async def test_redirects_are_checked_at_every_hop(serve, client_for):
    inner = await serve("127.0.0.2")  # a live private host that is not allowed

    async def to_metadata(request: web.Request) -> web.Response:
        raise web.HTTPTemporaryRedirect("http://169.254.169.254/latest/meta-data/")

    async def to_inner(request: web.Request) -> web.Response:
        raise web.HTTPFound(inner.url("/secret"))

    async def again(request: web.Request) -> web.Response:
        raise web.HTTPTemporaryRedirect("/again")

    async def to_hook(request: web.Request) -> web.Response:
        raise web.HTTPPermanentRedirect("/hook")

    outer = await serve(**{"meta": to_metadata, "inner": to_inner, "again": again, "moved": to_hook})
    client = client_for("127.0.0.1")
    with pytest.raises(EgressRefused) as caught:
        await client.request("POST", outer.url("/meta"), data=b"x", time_limit=5)
    assert caught.value.reason == "metadata"
    with pytest.raises(EgressRefused) as caught:
        await client.request("POST", outer.url("/inner"), data=b"x", time_limit=5)
    assert caught.value.reason == "loopback" and inner.received == []
    with pytest.raises(EgressRefused) as caught:
        await client.request("GET", outer.url("/again"), time_limit=5)
    assert caught.value.reason == "too_many_redirects"
    # An allowed redirect is followed; 308 keeps the method and the body.
    response = await client.request("POST", outer.url("/moved"), data=b"body", time_limit=5)
    assert response.ok and response.redirects == 1 and outer.received[-1] == ("POST", "/hook", b"body")


@pytest.mark.parametrize(
    ("url", "reason"),
    [("ftp://8.8.8.8/x", "scheme"), ("file:///etc/passwd", "scheme"), ("http://user:pw@8.8.8.8/", "userinfo")],
)
async def test_only_plain_http_urls_are_sent(client_for, url, reason):
    with pytest.raises(EgressRefused) as caught:
        await client_for().request("GET", url, time_limit=5)
    assert caught.value.reason == reason


async def test_a_large_answer_is_not_read_and_a_slow_one_times_out(serve, client_for):
    async def big(request: web.Request) -> web.Response:
        return web.Response(body=b"x" * 100_000)

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(30)
        return web.Response()

    peer = await serve(big=big, slow=slow)
    client = client_for("127.0.0.1", max_response_bytes=1024)
    with pytest.raises(EgressRefused) as caught:
        await client.request("GET", peer.url("/big"), time_limit=5)
    assert caught.value.reason == "response_too_large"
    with pytest.raises(TimeoutError):
        await client.request("GET", peer.url("/slow"), time_limit=0.2)


def test_the_allow_list_and_trusted_proxies_are_validated(tmp_path):
    make = SettingsFactory(tmp_path)
    settings = make(
        http={"egress_allow": ["10.0.0.0/8", "hooks.internal", "[::1]"], "trusted_proxies": ["10.1.0.0/16"]}
    )
    policy = EgressPolicy.parse(settings.http.egress_allow)
    assert policy.allows_host("HOOKS.internal.") and policy.address_refusal(ip_address("10.9.9.9")) is None
    with pytest.raises(ConfigError) as bad:
        make(http={"egress_allow": ["not a host!"]})
    assert "egress_allow" in str(bad.value)
    with pytest.raises(ConfigError) as bad:
        make(http={"trusted_proxies": ["proxy.local"]})
    assert "trusted_proxies" in str(bad.value)
