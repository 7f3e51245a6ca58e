"""Who the client is on the network: its IP address, from the connection's peer, or from
`X-Forwarded-For` when (and only when) that peer is a configured proxy.

Believing the header from anyone would let a client pick its own address and dodge
per-IP rate limits; believing it from no one puts everyone behind a proxy into one
shared bucket. `WALLET_TRUSTED_PROXIES` lists the proxies (IPs or CIDRs).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class TrustedProxies:
    networks: tuple[Network, ...] = ()

    @classmethod
    def parse(cls, entries: tuple[str, ...]) -> TrustedProxies:
        return cls(tuple(ipaddress.ip_network(e, strict=False) for e in entries))

    def trusts(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.networks)

    def client_ip(self, peer: str | None, forwarded_for: str | None) -> str:
        """The address of whoever sent the request: walking `X-Forwarded-For` from the
        right (the hop nearest us), past our own proxies, to the first one that is not."""
        if not peer:
            return "unknown"
        if not forwarded_for or not self.trusts(peer):
            return peer
        hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
        for hop in reversed(hops):
            try:
                ipaddress.ip_address(hop)
            except ValueError:
                return peer  # a hop we cannot read: believe nothing beyond the peer
            if not self.trusts(hop):
                return hop
        return hops[0] if hops else peer
