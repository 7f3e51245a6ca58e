"""Forged gateway callbacks cannot flood the audit log (issue 14, finding 13): refused ones
are limited per source (429 beyond), their rows are bounded, the rest summarised; signed
callbacks from the gateway still go through."""

import asyncio
import json

import pytest
from redis.asyncio import Redis

from tests.conftest import LiveServer
from tests.factories import make_user
from tests.graphql_client import add_bank, fund, token_for
from wallet.auth.ratelimit import RateLimited, RateLimiter
from wallet.config import Settings
from wallet.db.engine import connection
from wallet.gateway import signing
from wallet.gateway.base import EventType, GatewayEvent
from wallet.payments.callback_trail import BoundedTrail, source_of, summarise_suppressed

CALLBACKS = "/gateway/sandbox/callbacks"


async def callback_rows() -> list[tuple[str, str | None, str | None]]:
    async with connection() as conn:
        rows = await conn.fetch(
            "SELECT outcome, subject, details->>'suppressed' AS n FROM audit_log "
            "WHERE action = 'gatewayCallback' ORDER BY id"
        )
    return [(r["outcome"], r["subject"], r["n"]) for r in rows]


async def test_a_burst_of_forged_callbacks_is_limited_and_leaves_a_bounded_trail(
    live_server: LiveServer, redis: Redis
) -> None:
    user = await make_user()
    token = await token_for(live_server, user)
    txn = (await fund(live_server, token, await add_bank(live_server, token), "20.00"))[
        "transaction"
    ]
    async with connection() as conn:
        ref = await conn.fetchval(
            "SELECT gateway_ref FROM money_transaction WHERE id = $1", int(txn["id"])
        )
    limit = live_server.settings.gateway.callback_refusals_per_source  # 20 a minute
    forged = json.dumps(GatewayEvent("evt_forged", EventType.ACH_SETTLED, ref).to_json()).encode()

    async with live_server.client() as http:
        statuses = []
        for n in range(3 * limit):
            headers = {signing.SIGNATURE_HEADER: signing.sign("guessed-secret", forged)}
            if n % 3 == 0:
                headers = {}  # unsigned
            response = await http.post(CALLBACKS, content=forged, headers=headers)
            statuses.append(response.status_code)
        assert statuses == [401] * limit + [429] * (2 * limit)
        assert 0 < int(response.headers["retry-after"]) <= 60
        assert await callback_rows() == [("InvalidSignature", None, None)] * limit

        # The gateway's own, signed callback from the same address still goes through.
        secret = live_server.settings.gateway.webhook_secret
        real = json.dumps(GatewayEvent("evt_real", EventType.ACH_SETTLED, ref).to_json()).encode()
        response = await http.post(
            CALLBACKS, content=real, headers={signing.SIGNATURE_HEADER: signing.sign(secret, real)}
        )
        assert (response.status_code, response.json()) == (200, {"outcome": "applied"})

    # The worker sums up what was counted instead of recorded: one row for the source.
    assert await summarise_suppressed(redis) == 2 * limit
    assert await summarise_suppressed(redis) == 0
    assert await callback_rows() == [("InvalidSignature", None, None)] * limit + [
        ("applied", ref, None),
        ("suppressed", "127.0.0.1", str(2 * limit)),
    ]
    async with connection() as conn:
        status = await conn.fetchval(
            "SELECT status FROM money_transaction WHERE id = $1", int(txn["id"])
        )
    assert status == "completed"


async def test_rows_are_bounded_across_sources_and_an_ipv6_block_is_one_source(
    settings: Settings, redis: Redis
) -> None:
    trail = BoundedTrail.from_settings(
        settings.replace(
            gateway={"callback_refusals_per_source": 3, "callback_audit_rows_per_window": 5}
        ),
        redis,
        RateLimiter(redis),
    )
    # Four sources, two refusals each: within each source's limit, but only 5 rows in all.
    for source in ("192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"):
        for _ in range(2):
            await trail.refused(source, "InvalidSignature", None)
    # Addresses of one IPv6 /64 are one source: the fourth refusal is over its limit.
    block = [f"2001:db8:1:2::{n:x}" for n in range(1, 5)]
    for address in block[:3]:
        await trail.refused(address, "InvalidSignature", None)
    with pytest.raises(RateLimited):
        await trail.refused(block[3], "InvalidSignature", None)

    assert len(await callback_rows()) == 5
    assert await summarise_suppressed(redis) == 3 + 3 + 1
    summary = {subject: int(n) for outcome, subject, n in await callback_rows() if n}
    assert summary == {"192.0.2.3": 1, "192.0.2.4": 2, "2001:db8:1:2::/64": 4}


async def test_concurrent_forged_callbacks_cannot_race_past_the_limit(
    live_server: LiveServer,
) -> None:
    body = b'{"event_id": "x", "type": "ach.settled", "gateway_ref": "y"}'
    limit = live_server.settings.gateway.callback_refusals_per_source
    async with live_server.client() as http:
        responses = await asyncio.gather(
            *(http.post(CALLBACKS, content=body) for _ in range(2 * limit))
        )
    assert sorted(r.status_code for r in responses) == [401] * limit + [429] * limit
    assert len(await callback_rows()) == limit


def test_sources_are_addresses_and_ipv6_blocks() -> None:
    assert source_of("203.0.113.9") == "203.0.113.9"
    assert source_of("::ffff:203.0.113.9") == "203.0.113.9"
    assert source_of("2001:db8::1") == source_of("2001:db8::ffff:1") == "2001:db8::/64"
    assert source_of(None) == source_of("testclient") == "unknown"
