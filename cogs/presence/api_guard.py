"""The agent API's door: who the client is, and how many requests without a valid token it may make.

The client is the peer address; ``X-Forwarded-For`` is read only when the peer is one of ``[http]
trusted_proxies``, and then the client is the nearest address in it that is not a trusted proxy. Each client
address has a token bucket (the core's ``bot.ratelimit.RateLimiter``) of ``api_auth_failure_burst`` requests
without a valid token, refilled at ``api_auth_failures_per_minute``: within it such a request gets 401, beyond it
429 with ``Retry-After``. An IPv6 client is counted by its /64 (one host commonly holds the whole prefix, so
counting single addresses would hand it endless budgets); an IPv4-mapped address is its IPv4 address. A request
with a valid token never spends from it, so an agent is not held up by failures
from its address; it has its own per-agent bucket. Rejections are counted in ``steward_api_rejected_total{reason}``
and logged with the address, never the token.
"""

from __future__ import annotations

import math
from ipaddress import IPv4Address, IPv6Address, IPv6Network, ip_address, ip_network

from aiohttp import web
from cachetools import TTLCache

from bot.cog import CogContext
from bot.ratelimit import RateLimiter
from cogs.presence.config import PresenceSettings

UNAUTHORIZED_HEADERS = {"WWW-Authenticate": 'Bearer realm="steward"'}
LIMITED_REMEMBERED = 10_000


class ClientGuard:
    def __init__(self, ctx: CogContext[PresenceSettings]) -> None:
        self.ctx = ctx
        self.log = ctx.log
        cfg = ctx.config()
        self.failures = RateLimiter(rate=cfg.api_auth_failures_per_minute / 60.0, capacity=cfg.api_auth_failure_burst)
        self.trusted = tuple(ip_network(p.strip(), strict=False) for p in ctx.settings.http.trusted_proxies)
        # Addresses told 429 lately: the first refusal of a run is logged, the rest only counted.
        self._limited: TTLCache[str, None] = TTLCache(maxsize=LIMITED_REMEMBERED, ttl=60.0)
        self._rejected = ctx.metrics.counter(
            "steward_api_rejected_total", "Agent API requests rejected at the door, by reason", ["reason"]
        )

    def _is_trusted(self, address: IPv4Address | IPv6Address | None) -> bool:
        return address is not None and any(address.version == net.version and address in net for net in self.trusted)

    def client(self, request: web.Request) -> str:
        """The client's address: the peer, or what a trusted proxy says in front of it."""
        peer = request.remote or "unknown"
        if not self.trusted or not self._is_trusted(_parse(peer)):
            return peer
        hops = [h.strip() for value in request.headers.getall("X-Forwarded-For", []) for h in value.split(",")]
        client = peer
        for hop in reversed([h for h in hops if h]):
            address = _parse(hop)
            if address is None:
                break  # not an address: keep the last one a trusted hop vouched for
            client = str(address)
            if not self._is_trusted(address):
                break
        return client

    def unauthorized(self, request: web.Request, route: str, reason: str) -> web.Response:
        """The answer to a request without a valid token: 401 within the address's budget, 429 beyond it."""
        address = self.client(request)
        key = _bucket_key(address)
        taken = self.failures.take(key, self.ctx.clock.now())
        if taken.allowed:
            self._rejected.labels("unauthorized").inc()
            self.log.info("agent_api_unauthorized", client=address, route=route, reason=reason)
            return web.json_response({"error": "unauthorized"}, status=401, headers=UNAUTHORIZED_HEADERS)
        self._rejected.labels("too_many_failures").inc()
        wait = max(1, math.ceil(taken.retry_after))
        if key not in self._limited:
            self._limited[key] = None
            self.log.warning("agent_api_client_limited", client=address, route=route, retry_after=wait)
        return web.json_response(
            {"error": "too many requests without a valid token", "retry_after": wait},
            status=429,
            headers={"Retry-After": str(wait)},
        )

    def agent_limited(self) -> None:
        self._rejected.labels("rate_limited").inc()


def _bucket_key(client: str) -> str:
    address = _parse(client)
    if isinstance(address, IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(IPv6Network((int(address) >> 64 << 64, 64)))
    return client


def _parse(text: str) -> IPv4Address | IPv6Address | None:
    try:
        return ip_address(text.strip("[]"))
    except ValueError:
        return None
