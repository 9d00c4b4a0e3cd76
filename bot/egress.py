"""Outbound HTTP to URLs that others supply (agents' webhooks): public addresses only, unless the operator allows.

``EgressPolicy`` says which destinations are acceptable: every address a host resolves to must be public (not
loopback, private, link-local, multicast, reserved, unspecified, shared CGNAT space, the cloud metadata address,
unique-local or link-local IPv6, nor an IPv6 form that embeds one of those), unless the host name or a network it
resolves into is on ``[http] egress_allow``. ``EgressClient`` is the one aiohttp session that sends such requests:
its connector resolves through ``GuardedResolver``, which checks the addresses and hands the checked ones to the
connector to connect to (no second lookup, so a name cannot be rebound between the check and the connect), and
literal addresses are checked before the request. Redirects are followed by hand, at most ``max_redirects`` hops,
each hop checked again. Only http and https, no userinfo, a total timeout, a cap on the response body.

A refusal raises ``EgressRefused`` (host, reason), logged as ``egress_refused`` and counted in
``steward_egress_refused_total{reason}``; callers treat it as a failed delivery.
"""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from yarl import URL

from bot.logging import get_logger
from bot.metrics import Metrics

Address = IPv4Address | IPv6Address
Network = IPv4Network | IPv6Network

log = get_logger("steward.egress")

SCHEMES = frozenset({"http", "https"})
REDIRECTS = frozenset({301, 302, 303, 307, 308})
_NAT64 = ip_network("64:ff9b::/96")
# Checked before the ipaddress properties, so the most telling reason is the one reported.
_BLOCKED: tuple[tuple[Network, str], ...] = (
    (ip_network("169.254.169.254/32"), "metadata"),
    (ip_network("fd00:ec2::254/128"), "metadata"),
    (ip_network("0.0.0.0/8"), "unspecified"),
    (ip_network("100.64.0.0/10"), "shared"),
    (ip_network("fc00::/7"), "private"),
    (ip_network("fe80::/10"), "link_local"),
)
_NUMERIC_HOST = re.compile(r"[0-9a-fA-FxX.]+")
_HOST_NAME = re.compile(
    r"(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*"
)


class EgressRefused(Exception):
    """A destination the egress policy does not allow (or a response it will not read)."""

    def __init__(self, host: str, reason: str, address: str = "") -> None:
        self.host = host
        self.reason = reason
        self.address = address
        at = f" ({address})" if address and address != host else ""
        super().__init__(f"{host}{at}: {reason}")


def _embedded(address: IPv6Address) -> IPv4Address | None:
    """The IPv4 address an IPv6 form carries (mapped, 6to4, NAT64), which is where it would really go."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _property_refusal(address: Address) -> str | None:
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link_local", address.is_link_local),
        ("private", address.is_private),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
    )
    for reason, hit in checks:
        if hit:
            return reason
    return None if address.is_global else "not_global"


def refusal(address: Address) -> str | None:
    """Why ``address`` is not a public destination (None when it is)."""
    if isinstance(address, IPv6Address):
        if address.scope_id:
            address = IPv6Address(int(address))
        inner = _embedded(address)
        if inner is not None:
            return refusal(inner)
    for network, reason in _BLOCKED:
        if address.version == network.version and address in network:
            return reason
    return _property_refusal(address)


def literal_address(host: str) -> Address | None:
    """The address ``host`` spells, also in the legacy numeric IPv4 forms (``2130706433``, ``0x7f.1``, ``127.1``)
    that the C resolver accepts; None for a name. Never looks anything up."""
    bare = host.strip("[]")
    try:
        return ip_address(bare)
    except ValueError:
        pass
    if _NUMERIC_HOST.fullmatch(bare) and any(c.isdigit() for c in bare):
        try:
            return IPv4Address(socket.inet_aton(bare))
        except OSError:
            return None
    return None


def _normal_host(host: str) -> str:
    return host.strip("[]").rstrip(".").lower()


def parse_allow_entry(entry: str) -> Network | str:
    """One ``egress_allow`` entry: a network (``10.0.0.0/8``, ``127.0.0.1``) or a host name (``hooks.internal``)."""
    text = entry.strip()
    try:
        return ip_network(text.strip("[]"), strict=False)
    except ValueError:
        pass
    name = _normal_host(text)
    if not _HOST_NAME.fullmatch(name):
        raise ValueError(f"{entry!r} is neither a network (CIDR or address) nor a host name")
    return name


@dataclass(frozen=True, slots=True)
class EgressPolicy:
    """Public addresses only, plus the operator's allowed networks and host names."""

    networks: tuple[Network, ...] = ()
    hosts: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> EgressPolicy:
        parsed = [parse_allow_entry(e) for e in entries]
        return cls(
            networks=tuple(p for p in parsed if not isinstance(p, str)),
            hosts=frozenset(p for p in parsed if isinstance(p, str)),
        )

    def allows_host(self, host: str) -> bool:
        return _normal_host(host) in self.hosts

    def address_refusal(self, address: Address) -> str | None:
        """Why the policy refuses ``address`` (None: allowed)."""
        candidates = [address]
        if isinstance(address, IPv6Address) and (inner := _embedded(address)) is not None:
            candidates.append(inner)
        for net in self.networks:
            if any(a.version == net.version and a in net for a in candidates):
                return None
        return refusal(address)

    def check_url(self, url: str | URL) -> URL:
        """The URL when its scheme, form and (literal) host are acceptable; else ``EgressRefused``. Names are
        checked when they are resolved, at send time."""
        parsed = url if isinstance(url, URL) else URL(url)
        host = parsed.host or ""
        if parsed.scheme not in SCHEMES:
            raise EgressRefused(host, "scheme")
        if not host:
            raise EgressRefused(host, "no_host")
        if parsed.user is not None or parsed.password is not None:
            raise EgressRefused(host, "userinfo")
        if self.allows_host(host):
            return parsed
        literal = literal_address(host)
        if literal is not None:
            reason = self.address_refusal(literal)
            if reason is not None:
                raise EgressRefused(host, reason, str(literal))
        elif _normal_host(host) == "localhost" or _normal_host(host).endswith(".localhost"):
            raise EgressRefused(host, "loopback")
        return parsed


class GuardedResolver(AbstractResolver):
    """Resolves through ``inner`` and refuses unless every address is allowed; the connector connects to exactly
    the addresses returned here."""

    def __init__(self, policy: EgressPolicy, inner: AbstractResolver | None = None) -> None:
        self.policy = policy
        self._inner = inner

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if self._inner is None:
            self._inner = DefaultResolver()
        results = await self._inner.resolve(host, port, family)
        if self.policy.allows_host(host):
            return results
        if not results:
            raise EgressRefused(host, "unresolved")
        for result in results:
            reason = self.policy.address_refusal(ip_address(result["host"].split("%")[0]))
            if reason is not None:
                raise EgressRefused(host, reason, result["host"])
        return results

    async def close(self) -> None:
        if self._inner is not None:
            await self._inner.close()


@dataclass(frozen=True, slots=True)
class EgressResponse:
    status: int
    url: URL  # the last hop's URL
    body: bytes
    redirects: int

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class EgressClient:
    """One aiohttp session for requests to others' URLs, behind the ``EgressPolicy``. Close it at stop."""

    def __init__(
        self,
        policy: EgressPolicy,
        metrics: Metrics,
        *,
        resolver: AbstractResolver | None = None,
        max_redirects: int = 3,
        max_response_bytes: int = 64 * 1024,
    ) -> None:
        self.policy = policy
        self.max_redirects = max_redirects
        self.max_response_bytes = max_response_bytes
        self.resolver = resolver
        self._session: aiohttp.ClientSession | None = None
        self._guard: GuardedResolver | None = None
        self._refused = metrics.counter(
            "steward_egress_refused_total", "Outbound requests refused by the egress policy", ["reason"]
        )

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._guard = GuardedResolver(self.policy, self.resolver)
            connector = aiohttp.TCPConnector(resolver=self._guard)
            self._session = aiohttp.ClientSession(connector=connector, trust_env=False)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._guard is not None:
            await self._guard.close()  # the connector does not close a resolver it was given
            self._guard = None

    async def request(
        self,
        method: str,
        url: str,
        *,
        time_limit: float,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> EgressResponse:
        """Send one request (following checked redirects) within ``time_limit`` seconds in all. Raises
        ``EgressRefused``, ``aiohttp.ClientError`` or ``TimeoutError``."""
        try:
            async with asyncio.timeout(time_limit):
                return await self._follow(method.upper(), URL(url), data, dict(headers or {}))
        except EgressRefused as exc:
            self._refused.labels(exc.reason).inc()
            log.warning("egress_refused", host=exc.host, reason=exc.reason, address=exc.address or None)
            raise
        except ValueError as exc:  # yarl/aiohttp: a URL that cannot be sent at all
            self._refused.labels("invalid_url").inc()
            log.warning("egress_refused", host=None, reason="invalid_url")
            raise EgressRefused("", "invalid_url") from exc

    async def _follow(self, method: str, url: URL, data: bytes | None, headers: dict[str, str]) -> EgressResponse:
        session = self._client()
        for hop in range(self.max_redirects + 1):
            url = self.policy.check_url(url)
            async with session.request(method, url, data=data, headers=headers, allow_redirects=False) as response:
                location = response.headers.get("Location")
                if response.status not in REDIRECTS or not location:
                    return EgressResponse(response.status, url, await self._read(response, url), hop)
            url = url.join(URL(location))
            if response.status == 303 or (response.status in (301, 302) and method == "POST"):
                method, data = "GET", None
        raise EgressRefused(url.host or "", "too_many_redirects")

    async def _read(self, response: aiohttp.ClientResponse, url: URL) -> bytes:
        limit = self.max_response_bytes
        if response.content_length is not None and response.content_length > limit:
            raise EgressRefused(url.host or "", "response_too_large")
        chunks, size = [], 0
        while chunk := await response.content.read(16 * 1024):
            size += len(chunk)
            if size > limit:
                raise EgressRefused(url.host or "", "response_too_large")
            chunks.append(chunk)
        return b"".join(chunks)
