"""Operator ledger check, chart of accounts and reversal; money notifications."""

from __future__ import annotations

import json
from typing import Any

import pytest
from redis.asyncio import Redis

from tests.conftest import LiveServer
from tests.factories import make_user
from tests.graphql_client import call, send, token_for
from wallet.db.engine import connection
from wallet.notifications import money as money_notifications
from wallet.notifications.email import SandboxEmailProvider

pytestmark = pytest.mark.usefixtures("assert_ledger_sound")

CHECK = "{ ledgerCheck { ok breaches { check detail accountIds } } }"
CHART = "{ chartOfAccounts { code purpose accountType currency posted } }"
REVERSE = """mutation($id: ID!, $reason: String!) { reverseTransaction(transactionId: $id,
  reason: $reason) { __typename
  ... on AdjustmentPayload { adjustment { id kind status transactionId } }
  ... on UserError { code message } ... on ValidationError { fieldErrors { code } } } }"""
APPROVE = """mutation($id: ID!) { approveAdjustment(adjustmentId: $id, note: "checked") {
  __typename ... on AdjustmentPayload { adjustment { status decidedBy resultTransactionId } }
  ... on UserError { code message } ... on InsufficientFunds { available } } }"""
NOTIFICATIONS = "{ notifications { kind title body read transactionId } }"


async def test_ledger_check_and_chart_are_for_operators_only(live_server: LiveServer) -> None:
    customer = await make_user(balance="5.00")
    operator = await make_user()
    async with connection() as conn:
        await conn.execute(
            "UPDATE app_user SET operator_role = 'support' WHERE id = $1", operator.id
        )
    c_token, o_token = (
        await token_for(live_server, customer),
        await token_for(live_server, operator),
    )
    assert await call(live_server, c_token, CHECK) is None
    assert await call(live_server, c_token, CHART) is None
    assert await call(live_server, o_token, CHECK) == {"ok": True, "breaches": []}
    chart = await call(live_server, o_token, CHART)
    promo = next(a for a in chart if a["code"] == "system:USD:promotional_funding")
    assert (promo["accountType"], promo["posted"]) == ("EXPENSE", "5.00")
    assert {a["purpose"] for a in chart} >= {
        "gateway_clearing:sandbox",
        "fee_revenue",
        "unclaimed_transfers",
        "chargeback_reserve",
    }


async def test_ledger_check_reports_a_breach_with_its_account(live_server: LiveServer) -> None:
    operator = await make_user()
    user = await make_user(balance="5.00")
    async with connection() as conn:
        await conn.execute("UPDATE app_user SET operator_role = 'admin' WHERE id = $1", operator.id)
        # Tamper with a running total behind the ledger's back.
        account_id = await conn.fetchval(
            "UPDATE ledger_account SET posted_credits = posted_credits + 1 "
            "WHERE owner_type = 'user' AND owner_id = $1 RETURNING id",
            user.id,
        )
    result = await call(live_server, await token_for(live_server, operator), CHECK)
    assert result["ok"] is False
    checks = {b["check"]: b for b in result["breaches"]}
    assert checks["account_matches_postings"]["accountIds"] == [str(account_id)]
    async with connection() as conn:  # put it back so the teardown check passes
        await conn.execute(
            "UPDATE ledger_account SET posted_credits = posted_credits - 1 WHERE id = $1",
            account_id,
        )


async def admins(n: int = 2) -> list[Any]:
    found = []
    for _ in range(n):
        operator = await make_user()
        async with connection() as conn:
            await conn.execute(
                "UPDATE app_user SET operator_role = 'admin' WHERE id = $1", operator.id
            )
        found.append(operator)
    return found


async def test_a_reversal_takes_two_admins_and_posts_a_new_entry(
    live_server: LiveServer,
) -> None:
    alice, bob, customer = (
        await make_user(balance="20.00"),
        await make_user(),
        await make_user(),
    )
    first, second = await admins()
    sent = await send(live_server, await token_for(live_server, alice), bob.username, "7.00")
    txn_id = sent["transfer"]["id"]
    forbidden = await call(
        live_server, await token_for(live_server, customer), REVERSE, {"id": txn_id, "reason": "x"}
    )
    assert forbidden["code"] == "FORBIDDEN"
    first_token = await token_for(live_server, first)
    proposed = await call(
        live_server, first_token, REVERSE, {"id": txn_id, "reason": "fraud claim"}
    )
    adjustment = proposed["adjustment"]
    assert (adjustment["kind"], adjustment["status"], adjustment["transactionId"]) == (
        "reversal",
        "proposed",
        txn_id,
    )
    twice = await call(live_server, first_token, REVERSE, {"id": txn_id, "reason": "again"})
    assert twice["fieldErrors"] == [{"code": "ALREADY_PROPOSED"}]
    # The proposer cannot approve their own proposal: nothing moves.
    own = await call(live_server, first_token, APPROVE, {"id": adjustment["id"]})
    assert own["code"] == "FORBIDDEN"
    async with connection() as conn:
        assert (
            await conn.fetchval("SELECT status FROM money_transaction WHERE id = $1", int(txn_id))
            == "completed"
        )

    second_token = await token_for(live_server, second)
    approved = (await call(live_server, second_token, APPROVE, {"id": adjustment["id"]}))[
        "adjustment"
    ]
    assert (approved["status"], approved["decidedBy"]) == ("approved", str(second.id))
    async with connection() as conn:
        reversal = await conn.fetchrow(
            "SELECT type, status, amount, reverses_id FROM money_transaction WHERE id = $1",
            int(approved["resultTransactionId"]),
        )
        original_status = await conn.fetchval(
            "SELECT status FROM money_transaction WHERE id = $1", int(txn_id)
        )
        balances = await conn.fetch(
            "SELECT owner_id, posted_credits - posted_debits AS b FROM ledger_account "
            "WHERE owner_type = 'user' AND owner_id = ANY($1::bigint[]) ORDER BY owner_id",
            [alice.id, bob.id],
        )
        entries = await conn.fetchval("SELECT count(*) FROM journal_entry WHERE kind = 'p2p'")
    assert tuple(reversal) == ("reversal", "completed", 700, int(txn_id))
    assert original_status == "reversed"
    assert [r["b"] for r in balances] == [2000, 0]
    assert entries == 1  # the original entry is still there, untouched
    again = await call(live_server, second_token, APPROVE, {"id": adjustment["id"]})
    assert again["code"] == "VALIDATION_ERROR" and "already approved" in again["message"]
    # A reversed transfer cannot be proposed again.
    refused = await call(live_server, first_token, REVERSE, {"id": txn_id, "reason": "again"})
    assert refused["fieldErrors"] == [{"code": "NOT_REVERSIBLE"}]


async def test_reversal_is_refused_when_the_recipient_spent_the_money(
    live_server: LiveServer,
) -> None:
    alice, bob, carol = await make_user(balance="10.00"), await make_user(), await make_user()
    first, second = await admins()
    sent = await send(live_server, await token_for(live_server, alice), bob.username, "10.00")
    await send(live_server, await token_for(live_server, bob), carol.username, "6.00")
    proposed = await call(
        live_server,
        await token_for(live_server, first),
        REVERSE,
        {"id": sent["transfer"]["id"], "reason": "dispute"},
    )
    result = await call(
        live_server,
        await token_for(live_server, second),
        APPROVE,
        {"id": proposed["adjustment"]["id"]},
    )
    assert (result["code"], result["available"]) == (
        "INSUFFICIENT_FUNDS",
        "4.00",
    )
    async with connection() as conn:
        status = await conn.fetchval(
            "SELECT status FROM money_transaction WHERE id = $1", int(sent["transfer"]["id"])
        )
        waiting = await conn.fetchval("SELECT status FROM ledger_adjustment")
    assert (status, waiting) == ("completed", "proposed")


async def test_received_money_is_notified_once_in_app_and_by_email(
    live_server: LiveServer, redis: Redis
) -> None:
    alice, bob = await make_user(balance="10.00"), await make_user()
    sent = await send(
        live_server, await token_for(live_server, alice), bob.username, "3.00", note="coffee"
    )
    async with connection() as conn:
        event_id = await conn.fetchval(
            "SELECT id FROM outbox_event WHERE topic = 'transaction.updated' "
            "AND (payload->>'transaction_id')::bigint = $1",
            int(sent["transfer"]["id"]),
        )
        payload = json.loads(
            await conn.fetchval("SELECT payload FROM outbox_event WHERE id = $1", event_id)
        )
    assert sorted(payload["user_ids"]) == sorted([alice.id, bob.id])
    email = SandboxEmailProvider(redis)
    assert await money_notifications.notify_transaction(event_id, email=email) == 1
    assert await money_notifications.notify_transaction(event_id, email=email) == 0  # rerun
    bob_token = await token_for(live_server, bob)
    listed = await call(live_server, bob_token, NOTIFICATIONS)
    assert listed == [
        {
            "kind": "money_received",
            "title": "You received $3.00",
            "body": f"From @{alice.username}: coffee",
            "read": False,
            "transactionId": sent["transfer"]["id"],
        }
    ]
    assert [m["subject"] for m in await email.sent_to(bob.email)] == ["You received $3.00"]
    assert await call(live_server, await token_for(live_server, alice), NOTIFICATIONS) == []
