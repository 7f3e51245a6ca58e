"""Where gateway callbacks leave their trace in the audit log, and how much of it.

A callback that moved money always gets its row. Refused ones (unsigned, forged,
malformed) are limited per source, 429 beyond the limit; those and the ones that changed
nothing get their own rows only within a budget for all sources together, and the rest
are counted in Redis, summarised by the worker into one row per source (issue 14, finding 13).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Protocol, cast

import structlog
from redis.asyncio import Redis

from wallet.auth.ratelimit import Limit, RateLimited, RateLimiter
from wallet.config import Settings
from wallet.gateway.base import GatewayEvent
from wallet.security import audit

log = structlog.get_logger(__name__)

ACTION = "gatewayCallback"
SUPPRESSED = "gateway-callback:suppressed"  # Redis hash: source -> callbacks not recorded
SUMMARY_ROWS = 50  # sources summarised one by one per pass; the rest share one row

# Take the whole hash and clear it in one step, so no count is lost or counted twice.
_TAKE = """
local all = redis.call('HGETALL', KEYS[1])
redis.call('DEL', KEYS[1])
return all
"""


async def _count(redis: Redis, source: str) -> None:
    await cast(Awaitable[int], redis.hincrby(SUPPRESSED, source, 1))


def source_of(ip: str | None) -> str:
    """The subject of the per-source limit: an IPv4 address, or an IPv6 /64 (one host
    usually holds a whole /64, so counting single addresses would not limit it)."""
    try:
        address = ipaddress.ip_address(ip or "")
    except ValueError:
        return "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


async def record(event: GatewayEvent | None, outcome: str, ip: str | None) -> None:
    """One callback's own row: the event, the transaction's gateway reference, the outcome
    and where it came from."""
    await audit.record(
        audit.AuditEvent(
            "system",
            None,
            ACTION,
            outcome,
            subject=event.gateway_ref if event else None,
            ip=ip,
            details={"event": event.event_id, "type": event.type.value} if event else None,
        )
    )


class CallbackTrail(Protocol):
    async def refused(self, ip: str | None, reason: str, event: GatewayEvent | None) -> None:
        """A callback refused as unauthentic or malformed; may raise `RateLimited`."""

    async def outcome(self, ip: str | None, event: GatewayEvent, outcome: str) -> None:
        """An authentic callback and what became of it (applied, duplicate, ignored...)."""


class EveryCallback:
    """A row for each callback: the worker's own deliveries of the sandbox's events."""

    async def refused(self, ip: str | None, reason: str, event: GatewayEvent | None) -> None:
        await record(event, reason, ip)

    async def outcome(self, ip: str | None, event: GatewayEvent, outcome: str) -> None:
        await record(event, outcome, ip)


@dataclass(frozen=True, slots=True)
class BoundedTrail:
    """The HTTP endpoint's trail: whoever can reach it can send anything."""

    redis: Redis
    limiter: RateLimiter
    refusals: Limit  # per source
    rows: Limit  # for all sources together

    @classmethod
    def from_settings(cls, settings: Settings, redis: Redis, limiter: RateLimiter) -> BoundedTrail:
        window = settings.gateway.callback_window_seconds
        return cls(
            redis,
            limiter,
            Limit("callback:refused", settings.gateway.callback_refusals_per_source, window),
            Limit("callback:audit_rows", settings.gateway.callback_audit_rows_per_window, window),
        )

    async def refused(self, ip: str | None, reason: str, event: GatewayEvent | None) -> None:
        source = source_of(ip)
        try:
            await self.limiter.consume(self.refusals, source)
        except RateLimited:
            await _count(self.redis, source)
            raise
        await self._within_budget(source, event, reason, ip)

    async def outcome(self, ip: str | None, event: GatewayEvent, outcome: str) -> None:
        if outcome == "applied":  # it moved money: bounded by the gateway's real events
            await record(event, outcome, ip)
            return
        await self._within_budget(source_of(ip), event, outcome, ip)

    async def _within_budget(
        self, source: str, event: GatewayEvent | None, outcome: str, ip: str | None
    ) -> None:
        try:
            await self.limiter.consume(self.rows, "all sources")
        except RateLimited:
            await _count(self.redis, source)
            return
        await record(event, outcome, ip)


async def summarise_suppressed(redis: Redis) -> int:
    """Worker job: one row per source for the callbacks counted instead of recorded since
    the last pass (the busiest `SUMMARY_ROWS` sources; the others in one row together).
    Returns how many callbacks the rows account for."""
    # redis-py types its commands as sync-or-async; this client is the async one.
    flat = await cast(Awaitable[list[bytes]], redis.eval(_TAKE, 1, SUPPRESSED))
    counts = sorted(
        ((int(flat[i + 1]), flat[i].decode()) for i in range(0, len(flat), 2)), reverse=True
    )
    for count, source in counts[:SUMMARY_ROWS]:
        await audit.record(
            audit.AuditEvent(
                "system", None, ACTION, "suppressed", subject=source, details={"suppressed": count}
            )
        )
    rest = counts[SUMMARY_ROWS:]
    if rest:
        await audit.record(
            audit.AuditEvent(
                "system",
                None,
                ACTION,
                "suppressed",
                subject="other sources",
                details={"suppressed": sum(c for c, _ in rest), "sources": len(rest)},
            )
        )
    total = sum(c for c, _ in counts)
    if total:
        log.warning("gateway.callbacks_suppressed", callbacks=total, sources=len(counts))
    return total
