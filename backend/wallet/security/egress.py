"""Outbound HTTP to addresses that users give us (merchant webhooks): the SSRF guard.

A URL is checked when it is configured and again on every connection: its host is
resolved, and any answer that is not a public internet address (loopback, private,
link-local, CGNAT, multicast, reserved, cloud metadata, or one of these inside IPv6)
refuses it. The connection then goes to the address that was checked, so a DNS answer
that changes between the check and the connect (rebinding) cannot reach inside.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from wallet.config import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# Resolves (host, port) to the addresses a connection may use. An interface, so tests
# can play a DNS server that changes its answers.
Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]

# Cloud instance-metadata services hand out credentials to whoever asks from inside.
# Most sit in ranges refused anyway (link-local, CGNAT, ULA); they are named so that no
# exception for private targets ever lets them through.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean...
        "169.254.170.2",  # AWS ECS task credentials
        "169.254.169.253",  # AWS DNS
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud
        "fd00:ec2::254",  # AWS over IPv6
        "fd00:ec2::23",  # AWS time/DNS over IPv6
    )
)
# Ranges `is_global` lets through but no webhook belongs in.
_NOT_PUBLIC = (
    ipaddress.ip_network("100.64.0.0/10"),  # CGNAT (shared address space)
    ipaddress.ip_network("224.0.0.0/4"),  # IPv4 multicast
    ipaddress.ip_network("ff00::/8"),  # IPv6 multicast
)
# IPv6 prefixes that carry an IPv4 address in their last 32 bits (NAT64).
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))

NOT_PUBLIC = "NOT_PUBLIC"
HTTPS_REQUIRED = "HTTPS_REQUIRED"
INVALID_URL = "INVALID"


class TargetRefused(Exception):
    """The URL may not be called; `code` is NOT_PUBLIC, HTTPS_REQUIRED or INVALID."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, 6to4, Teredo, NAT64)."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if any(ip in net for net in _NAT64):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_metadata(ip: IPAddress) -> bool:
    embedded = _embedded_ipv4(ip)
    return ip in METADATA_ADDRESSES or (embedded is not None and embedded in METADATA_ADDRESSES)


def is_public(ip: IPAddress) -> bool:
    """Whether `ip` is a public internet address (and so is any IPv4 address inside it)."""
    embedded = _embedded_ipv4(ip)
    if embedded is not None and not is_public(embedded):
        return False
    return (
        ip.is_global
        and not ip.is_multicast
        and not ip.is_reserved
        and not any(ip in net for net in _NOT_PUBLIC if net.version == ip.version)
        and not is_metadata(ip)
    )


async def system_resolver(host: str, port: int) -> list[IPAddress]:
    """The operating system's resolver (getaddrinfo), without blocking the loop."""
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    found: dict[IPAddress, None] = {}
    for *_, sockaddr in infos:
        # An IPv6 link-local answer may carry a zone ("fe80::1%eth0"); it is refused anyway.
        found[ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])] = None
    return list(found)


@dataclass(frozen=True)
class EgressPolicy:
    """Where outbound requests may go.

    `allow_private` lets webhooks reach private and loopback addresses (tests and local
    development with a receiver on this machine; unsafe in production); cloud metadata
    addresses stay refused even then. `allowed_networks` are exact exceptions, the way
    tests stand a loopback address in for "the internet" next to one that must stay
    unreachable.
    """

    allow_private: bool = False
    require_https: bool = False
    resolver: Resolver = system_resolver
    allowed_networks: tuple[IPNetwork, ...] = ()
    resolve_timeout_seconds: float = 5.0

    @classmethod
    def from_settings(cls, settings: Settings) -> EgressPolicy:
        return cls(
            allow_private=settings.merchants.webhook_allow_private_targets,
            require_https=settings.is_production,
        )

    def check_scheme(self, scheme: str) -> None:
        if scheme == "https" or (scheme == "http" and not self.require_https):
            return
        raise TargetRefused(HTTPS_REQUIRED, "A webhook URL must start with https://")

    def split(self, url: str) -> tuple[str, int]:
        """(host, port) of a URL fit to be called, or `TargetRefused`."""
        try:
            parts = urlsplit(url.strip())
            port = parts.port
        except ValueError:
            raise TargetRefused(INVALID_URL, "That is not a valid URL") from None
        self.check_scheme(parts.scheme.lower())
        if not parts.hostname or len(url) > 500:
            raise TargetRefused(INVALID_URL, "That is not a valid URL")
        return parts.hostname, port or (443 if parts.scheme.lower() == "https" else 80)

    def allows(self, ip: IPAddress) -> bool:
        if is_metadata(ip):
            return False
        if any(ip in net for net in self.allowed_networks if net.version == ip.version):
            return True
        return self.allow_private or is_public(ip)

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        """Every address `host` resolves to, if all of them may be called; else refuse.

        Any refused answer refuses the host: the connection could use any of them. An
        unknown host gets the same answer as a private one, so the check cannot be used
        to learn which internal names exist.
        """
        refused = TargetRefused(
            NOT_PUBLIC,
            f"Webhooks go only to public internet addresses, and {host} is not one "
            "(or it could not be found)",
        )
        try:
            literal: IPAddress | None = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            literal = None
        if literal is not None:
            addresses = [literal]
        else:
            try:
                async with asyncio.timeout(self.resolve_timeout_seconds):
                    addresses = await self.resolver(host, port)
            except (OSError, TimeoutError, UnicodeError):
                raise refused from None
        if not addresses or not all(self.allows(ip) for ip in addresses):
            raise refused
        return addresses

    async def check(self, url: str) -> None:
        """Configuration-time check of a URL (scheme, host, addresses)."""
        host, port = self.split(url)
        await self.resolve(host, port)


class _PinnedBackend(httpcore.AsyncNetworkBackend):
    """Resolves and checks at connect time, then connects to exactly the checked address
    (TLS still verifies the certificate and sends SNI for the URL's host name)."""

    def __init__(self, policy: EgressPolicy) -> None:
        self._policy = policy
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self._policy.resolve(host, port)
        failure: Exception | None = None
        for ip in addresses:
            try:
                return await self._inner.connect_tcp(
                    str(ip),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None  # resolve() never returns an empty list
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise TargetRefused(NOT_PUBLIC, "Unix sockets are never a webhook target")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _GuardedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, policy: EgressPolicy, ssl_context: ssl.SSLContext) -> None:
        super().__init__(trust_env=False)  # no proxy from the environment: it would be
        # the one address connected to, and it is usually a private one
        self._policy = policy
        # httpx builds its pool in __init__ without a way to pass a network backend;
        # this one is the same pool with the pinning backend (tests cover the swap).
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context, network_backend=_PinnedBackend(policy)
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        # Every request, redirects followed by a caller included, is checked afresh.
        self._policy.check_scheme(request.url.scheme)
        return await super().handle_async_request(request)


class GuardedClient(httpx.AsyncClient):
    """An HTTP client that only reaches addresses its policy allows and follows no
    redirects (a redirect is an answer like any other, recorded as a failure). Code that
    calls user-given URLs takes this type, not a plain client."""

    def __init__(
        self,
        policy: EgressPolicy,
        *,
        timeout: float = 10.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(
            transport=_GuardedTransport(policy, ssl_context or httpx.create_ssl_context()),
            timeout=timeout,
            follow_redirects=False,
            trust_env=False,
        )
        self.policy = policy
