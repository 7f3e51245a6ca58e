"""Chargebacks of card top-ups: the wallet pays what it can, the rest is a debt in the
chargeback reserve, the wallet is restricted until incoming money repays it."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from tests.conftest import LiveServer
from tests.factories import make_user
from tests.graphql_client import add_card, fund, send, token_for
from tests.integration.test_gateway_callbacks import gateway_ref_of
from tests.ledger_helpers import wallet_cents
from wallet.db.engine import connection
from wallet.gateway.sandbox import SandboxGateway
from wallet.payments import chargebacks, funding

pytestmark = pytest.mark.usefixtures("assert_ledger_sound")


async def chargeback(live: LiveServer, redis: Redis, transaction_id: str) -> list[str]:
    gateway = SandboxGateway(redis, day_seconds=live.settings.sandbox.day_seconds)
    await gateway.report_chargeback(await gateway_ref_of(transaction_id), "fraudulent")
    await gateway.advance(0.1)  # the duplicate copy comes a moment later
    return await funding.deliver_sandbox_events(gateway, live.settings.gateway.webhook_secret)


async def wallet_status(user_id: int) -> tuple[str, str | None]:
    async with connection() as conn:
        row = await conn.fetchrow(
            "SELECT status, restricted_reason FROM wallet WHERE user_id = $1", user_id
        )
    return row["status"], row["restricted_reason"]


async def test_a_chargeback_after_spending_leaves_a_debt_and_restricts_until_repaid(
    live_server: LiveServer, redis: Redis
) -> None:
    user, friend = await make_user(), await make_user(balance="40.00")
    token = await token_for(live_server, user)
    card = await add_card(live_server, token)
    top_up = (await fund(live_server, token, card, "50.00"))["transaction"]
    await send(live_server, token, friend.username, "30.00")
    assert await chargeback(live_server, redis, top_up["id"]) == ["applied", "duplicate"]
    assert await wallet_cents(user.id) == 0
    assert await wallet_status(user.id) == ("restricted", "chargeback")
    refused = await send(live_server, token, friend.username, "0.01")
    assert refused["code"] == "WALLET_UNAVAILABLE"
    async with connection() as conn:
        debt = await conn.fetchrow("SELECT amount, repaid FROM chargeback_debt")
        top_up_status = await conn.fetchval(
            "SELECT status FROM money_transaction WHERE id = $1", int(top_up["id"])
        )
    assert (tuple(debt), top_up_status) == ((3000, 0), "reversed")

    # Money can still arrive; it repays the debt first, then the wallet is free again.
    await send(live_server, await token_for(live_server, friend), user.username, "20.00")
    assert await chargebacks.repay_debts(user.id) == 2000
    assert await wallet_status(user.id) == ("restricted", "chargeback")  # 10.00 still owed
    await send(live_server, await token_for(live_server, friend), user.username, "15.00")
    assert await chargebacks.repay_all_debts() == 1000
    assert await wallet_status(user.id) == ("active", None)
    assert await wallet_cents(user.id) == 500


async def test_a_chargeback_covered_by_the_balance_leaves_no_debt(
    live_server: LiveServer, redis: Redis
) -> None:
    user = await make_user()
    token = await token_for(live_server, user)
    card = await add_card(live_server, token)
    first = (await fund(live_server, token, card, "10.00"))["transaction"]
    await fund(live_server, token, card, "5.00")
    assert await chargeback(live_server, redis, first["id"]) == ["applied", "duplicate"]
    assert await wallet_cents(user.id) == 500
    assert await wallet_status(user.id) == ("active", None)
    # A second dispute of the same top-up (a new event) finds it already reversed.
    assert await chargeback(live_server, redis, first["id"]) == [
        "ignored: transaction already reversed",
        "duplicate",
    ]
