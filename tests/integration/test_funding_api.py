"""addMoney and withdraw over GraphQL through the sandbox gateway, and its callbacks."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from tests.conftest import LiveServer, run_live_server
from tests.factories import make_user
from tests.graphql_client import (
    add_bank,
    add_card,
    call,
    card_details,
    fund,
    step_up,
    token_for,
    tokenize_response,
)
from tests.integration.test_gateway_callbacks import gateway_ref_of
from tests.subscriptions import first_event
from wallet.config import Settings
from wallet.db.engine import connection
from wallet.gateway import signing
from wallet.gateway.base import EventType, GatewayEvent
from wallet.gateway.sandbox import SandboxGateway
from wallet.notifications import money as money_notifications
from wallet.notifications.email import SandboxEmailProvider
from wallet.payments import funding

pytestmark = pytest.mark.usefixtures("assert_ledger_sound")


async def balances(user_id: int) -> tuple[int, int]:
    """(posted, available) of the user's USD wallet, in cents."""
    async with connection() as conn:
        row = await conn.fetchrow(
            "SELECT posted_credits - posted_debits AS posted, "
            "posted_credits - posted_debits - pending_debits AS available FROM ledger_account "
            "WHERE owner_type = 'user' AND owner_id = $1 AND currency = 'USD'",
            user_id,
        )
    return (int(row["posted"]), int(row["available"])) if row else (0, 0)


async def deliver_after(live: LiveServer, days: float) -> list[str]:
    """Run the sandbox clock `days` and deliver what is due. An ACH settles 1 to 3 days
    after it starts (by its random reference) and its copy a second later: wait 3.1."""
    gateway = sandbox_gateway(live)
    await gateway.advance(days)
    return await funding.deliver_sandbox_events(gateway, live.settings.gateway.webhook_secret)


def sandbox_gateway(live: LiveServer) -> SandboxGateway:
    return SandboxGateway(
        Redis.from_url(live.settings.redis_url or ""),
        day_seconds=live.settings.sandbox.day_seconds,
    )


async def test_card_top_up_credits_the_wallet_and_stores_only_the_token(
    live_server: LiveServer,
) -> None:
    user = await make_user()
    token = await token_for(live_server, user)
    method_id = await add_card(live_server, token)
    async with connection() as conn:
        row = await conn.fetchrow("SELECT * FROM payment_method WHERE id = $1", int(method_id))
    assert "4242424242424242" not in json.dumps({k: str(v) for k, v in dict(row).items()})
    assert (row["brand"], row["last4"], row["token"][:9]) == ("Visa", "4242", "tok_card_")

    result = await fund(live_server, token, method_id, "25.00")
    txn = result["transaction"]
    assert (txn["type"], txn["status"], txn["direction"], txn["amount"]) == (
        "ADD",
        "COMPLETED",
        "IN",
        "25.00",
    )
    assert txn["paymentMethod"] == "Visa ending 4242"
    assert txn["runningBalance"] == "25.00"
    assert await balances(user.id) == (2500, 2500)


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("4000000000009995", "Card declined: insufficient_funds"),
        ("4000000000009979", "Card declined: stolen_card"),
    ],
)
async def test_declined_card_fails_the_transaction_with_the_reason_and_notifies(
    live_server: LiveServer, number: str, reason: str
) -> None:
    user = await make_user()
    token = await token_for(live_server, user)
    method_id = await add_card(live_server, token, number)
    txn = (await fund(live_server, token, method_id, "10.00"))["transaction"]
    assert (txn["status"], txn["failureReason"]) == ("FAILED", reason)
    assert await balances(user.id) == (0, 0)
    async with connection() as conn:
        holds = await conn.fetch("SELECT status FROM ledger_hold")
        announced = await conn.fetch(
            "SELECT payload FROM outbox_event WHERE topic = 'transaction.updated'"
        )
    assert [h["status"] for h in holds] == ["voided"]
    assert [json.loads(a["payload"])["status"] for a in announced] == ["processing", "failed"]


@pytest.mark.parametrize(
    ("card", "field"),
    [
        ({"number": "4242424242424241"}, "number"),
        ({"exp_year": 2020}, "expYear"),
        ({"exp_month": 13}, "expMonth"),
        ({"cvc": "12"}, "cvc"),
    ],
)
async def test_bad_card_details_are_refused_by_the_tokeniser_and_nothing_is_stored(
    live_server: LiveServer, redis: Redis, card: dict[str, object], field: str
) -> None:
    response = await tokenize_response(live_server, {"card": {**card_details()["card"], **card}})
    assert response.status_code == 400
    assert response.json()["error"]["field"] == field
    assert await redis.keys("sandbox:gateway:vault:*") == []
    async with connection() as conn:
        assert await conn.fetchval("SELECT count(*) FROM payment_method") == 0


async def test_slow_card_waits_processing_until_the_gateway_calls_back(
    settings: Settings,
) -> None:
    quick = settings.replace(gateway={"timeout_seconds": 0.3})
    async with run_live_server(quick) as live:
        user = await make_user()
        token = await token_for(live, user)
        method_id = await add_card(live, token, "4000000000000119")
        txn = (await fund(live, token, method_id, "40.00"))["transaction"]
        assert txn["status"] == "PROCESSING"
        assert await balances(user.id) == (0, 0)
        outcomes = await deliver_after(live, 0.1)
        assert outcomes == ["applied", "duplicate"]
        async with connection() as conn:
            status = await conn.fetchval(
                "SELECT status FROM money_transaction WHERE id = $1", int(txn["id"])
            )
        assert status == "completed"
        assert await balances(user.id) == (4000, 4000)


async def test_ach_top_up_is_pending_until_settled_then_credited_once(
    live_server: LiveServer,
) -> None:
    user = await make_user()
    token = await token_for(live_server, user)
    method_id = await add_bank(live_server, token)
    txn = (await fund(live_server, token, method_id, "300.00"))["transaction"]
    assert txn["status"] == "PENDING"
    assert await balances(user.id) == (0, 0)
    assert await deliver_after(live_server, 0.5) == []  # not settled within half a day
    assert await deliver_after(live_server, 3) == ["applied", "duplicate"]
    assert await balances(user.id) == (30000, 30000)
    async with connection() as conn:
        transitions = await conn.fetch(
            "SELECT to_status FROM transaction_transition WHERE transaction_id = $1 ORDER BY id",
            int(txn["id"]),
        )
    assert [t["to_status"] for t in transitions] == ["initiated", "pending", "completed"]


async def test_ach_return_r01_fails_the_top_up_and_credits_nothing(
    live_server: LiveServer,
) -> None:
    user = await make_user()
    token = await token_for(live_server, user)
    method_id = await add_bank(live_server, token, "000111111116")
    txn = (await fund(live_server, token, method_id, "50.00"))["transaction"]
    assert txn["status"] == "PENDING"
    assert await deliver_after(live_server, 3.1) == ["applied", "duplicate"]
    async with connection() as conn:
        row = await conn.fetchrow(
            "SELECT status, failure_reason FROM money_transaction WHERE id = $1", int(txn["id"])
        )
    assert tuple(row) == ("failed", "R01: insufficient funds")
    assert await balances(user.id) == (0, 0)


async def _post_callback(
    live: LiveServer, event: GatewayEvent, secret: str | None
) -> tuple[int, dict[str, str]]:
    body = json.dumps(event.to_json()).encode()
    headers = {"content-type": "application/json"}
    if secret is not None:
        headers[signing.SIGNATURE_HEADER] = signing.sign(secret, body)
    async with live.client() as http:
        response = await http.post("/gateway/sandbox/callbacks", content=body, headers=headers)
    return response.status_code, response.json()


async def test_callbacks_are_authenticated_applied_once_and_tolerate_disorder(
    live_server: LiveServer,
) -> None:
    user = await make_user()
    token = await token_for(live_server, user)
    method_id = await add_bank(live_server, token)
    txn = (await fund(live_server, token, method_id, "20.00"))["transaction"]
    ref = await gateway_ref_of(txn["id"])
    secret = live_server.settings.gateway.webhook_secret
    settled = GatewayEvent("evt_settle_1", EventType.ACH_SETTLED, ref)

    assert (await _post_callback(live_server, settled, None))[0] == 401
    assert (await _post_callback(live_server, settled, "forged-secret"))[0] == 401
    assert await balances(user.id) == (0, 0)

    assert await _post_callback(live_server, settled, secret) == (200, {"outcome": "applied"})
    assert await _post_callback(live_server, settled, secret) == (200, {"outcome": "duplicate"})
    # A settlement arriving again under another event id changes nothing.
    late = GatewayEvent("evt_settle_2", EventType.ACH_SETTLED, ref)
    status, body = await _post_callback(live_server, late, secret)
    assert (status, body["outcome"]) == (200, "ignored: transaction already completed")
    assert await balances(user.id) == (2000, 2000)
    unknown = GatewayEvent("evt_x", EventType.ACH_SETTLED, "wtx_unknown")
    assert (await _post_callback(live_server, unknown, secret))[0] == 409
    async with connection() as conn:
        assert await conn.fetchval("SELECT count(*) FROM gateway_event") == 2
        audited = await conn.fetch(
            "SELECT actor_type, outcome, subject, ip FROM audit_log "
            "WHERE action = 'gatewayCallback' ORDER BY id"
        )
    # Every callback is in the audit log: forged ones with where they came from.
    assert [(r["actor_type"], r["outcome"], r["subject"]) for r in audited] == [
        ("system", "InvalidSignature", None),
        ("system", "InvalidSignature", None),
        ("system", "applied", ref),
        ("system", "duplicate", ref),
        ("system", "ignored: transaction already completed", ref),
        ("system", "UnknownGatewayReference", "wtx_unknown"),
    ]
    assert all(r["ip"] for r in audited)


async def test_replayed_add_money_returns_the_same_transaction_and_charges_once(
    live_server: LiveServer,
) -> None:
    user = await make_user()
    token = await token_for(live_server, user)
    method_id = await add_card(live_server, token)
    first = await fund(live_server, token, method_id, "5.00", key="top-up-1")
    again = await fund(live_server, token, method_id, "5.00", key="top-up-1")
    changed = await fund(live_server, token, method_id, "6.00", key="top-up-1")
    assert first["transaction"]["id"] == again["transaction"]["id"]
    assert changed["code"] == "IDEMPOTENCY_CONFLICT"
    assert await balances(user.id) == (500, 500)


async def test_withdrawal_holds_then_posts_when_the_payout_is_paid(
    live_server: LiveServer,
) -> None:
    user = await make_user(balance="100.00")
    token = await token_for(live_server, user)
    method_id = await add_bank(live_server, token)
    txn = (await fund(live_server, token, method_id, "30.00", withdraw=True))["transaction"]
    assert (txn["type"], txn["status"], txn["direction"]) == ("WITHDRAWAL", "PENDING", "OUT")
    assert await balances(user.id) == (10000, 7000)
    assert await deliver_after(live_server, 1.1) == ["applied", "duplicate"]
    assert await balances(user.id) == (7000, 7000)


async def test_failed_payout_voids_the_hold_and_returns_the_money(
    live_server: LiveServer,
) -> None:
    user = await make_user(balance="100.00")
    token = await token_for(live_server, user)
    method_id = await add_bank(live_server, token, "000111111113")
    txn = (await fund(live_server, token, method_id, "30.00", withdraw=True))["transaction"]
    assert await balances(user.id) == (10000, 7000)
    await deliver_after(live_server, 1.1)
    assert await balances(user.id) == (10000, 10000)
    async with connection() as conn:
        row = await conn.fetchrow(
            "SELECT status, failure_reason FROM money_transaction WHERE id = $1", int(txn["id"])
        )
    assert tuple(row) == ("failed", "R02: account closed")


async def test_refused_withdrawals_write_nothing(live_server: LiveServer) -> None:
    user, other = await make_user(balance="10.00"), await make_user()
    token = await token_for(live_server, user)
    bank = await add_bank(live_server, token)
    card = await add_card(live_server, token)
    others_bank = await add_bank(live_server, await token_for(live_server, other))
    async with connection() as conn:
        before = await conn.fetchval("SELECT count(*) FROM money_transaction")
    over = await fund(live_server, token, bank, "10.01", withdraw=True)
    assert (over["code"], over["available"]) == ("INSUFFICIENT_FUNDS", "10.00")
    to_card = await fund(live_server, token, card, "1.00", withdraw=True)
    assert to_card["fieldErrors"] == [{"field": "paymentMethodId", "code": "INVALID"}]
    not_mine = await fund(live_server, token, others_bank, "1.00", withdraw=True)
    assert not_mine["code"] == "NOT_FOUND"
    for amount in ("0", "-1.00", "1.001"):
        bad = await fund(live_server, token, bank, amount, withdraw=True)
        assert bad["code"] == "VALIDATION_ERROR", amount
    unknown_currency = await fund(live_server, token, bank, "1.00", withdraw=True, currency="XXX")
    assert unknown_currency["fieldErrors"][0]["field"] == "currency"
    async with connection() as conn:
        assert await conn.fetchval("SELECT count(*) FROM money_transaction") == before
        assert await conn.fetchval("SELECT count(*) FROM ledger_hold") == 0
    assert await balances(user.id) == (1000, 1000)


async def test_unanswered_ach_expires_and_releases_its_hold(live_server: LiveServer) -> None:
    user = await make_user()
    token = await token_for(live_server, user)
    method_id = await add_bank(live_server, token)
    txn = (await fund(live_server, token, method_id, "20.00"))["transaction"]
    expired = await funding.expire_stale_holds(datetime.now(UTC) + timedelta(days=11))
    assert expired == [int(txn["id"])]
    async with connection() as conn:
        status = await conn.fetchval(
            "SELECT status FROM money_transaction WHERE id = $1", int(txn["id"])
        )
    assert status == "expired"
    # The settlement arriving afterwards is ignored: nothing is credited.
    assert await deliver_after(live_server, 3.1) == [
        "ignored: transaction already expired",
        "duplicate",
    ]
    assert await balances(user.id) == (0, 0)


async def test_transaction_updated_is_pushed_when_a_top_up_settles(
    live_server: LiveServer,
) -> None:
    user = await make_user()
    token = await token_for(live_server, user)
    method_id = await add_bank(live_server, token)
    txn = (await fund(live_server, token, method_id, "12.00"))["transaction"]
    query = "subscription { transactionUpdated { id type status amount } }"
    data = await first_event(
        live_server,
        token,
        query,
        lambda: deliver_after(live_server, 3.1),
        # The top-up's own PENDING event may still be in flight when the socket opens.
        accept=lambda d: d["transactionUpdated"]["status"] != "PENDING",
    )
    assert data["transactionUpdated"] == {
        "id": txn["id"],
        "type": "ADD",
        "status": "COMPLETED",
        "amount": "12.00",
    }


async def test_concurrent_duplicate_callbacks_apply_once(live_server: LiveServer) -> None:
    user = await make_user()
    token = await token_for(live_server, user)
    method_id = await add_bank(live_server, token)
    txn = (await fund(live_server, token, method_id, "9.00"))["transaction"]
    event = GatewayEvent("evt_dup", EventType.ACH_SETTLED, await gateway_ref_of(txn["id"]))
    outcomes = await asyncio.gather(*(funding.handle_gateway_event(event) for _ in range(10)))
    assert sorted(outcomes) == ["applied"] + ["duplicate"] * 9
    assert await balances(user.id) == (900, 900)


async def test_a_failed_top_up_is_notified_with_the_reason(
    live_server: LiveServer, redis: Redis
) -> None:
    user = await make_user()
    token = await token_for(live_server, user)
    method_id = await add_card(live_server, token, "4000000000009979")
    txn = (await fund(live_server, token, method_id, "10.00"))["transaction"]
    async with connection() as conn:
        event_id = await conn.fetchval(
            "SELECT id FROM outbox_event WHERE topic = 'transaction.updated' "
            "AND (payload->>'transaction_id')::bigint = $1 AND payload->>'status' = 'failed'",
            int(txn["id"]),
        )
    email = SandboxEmailProvider(redis)
    assert await money_notifications.notify_transaction(event_id, email=email) == 1
    sent = (await email.sent_to(user.email))[-1]  # after the step-up code
    assert (sent["subject"], sent["body"]) == (
        "Adding money of $10.00 failed",
        "Card declined: stolen_card",
    )


async def test_removed_payment_methods_cannot_be_used(live_server: LiveServer) -> None:
    user, other = await make_user(), await make_user()
    token = await token_for(live_server, user)
    method_id = await add_card(live_server, token)
    remove = "mutation($id: ID!) { removePaymentMethod(id: $id) { __typename } }"
    other_token = await token_for(live_server, other)
    await step_up(live_server, other_token)
    assert (await call(live_server, other_token, remove, {"id": method_id}))["__typename"] == (
        "NotFound"
    )
    removed = await call(live_server, token, remove, {"id": method_id})
    assert removed["__typename"] == "RemovePaymentMethodPayload"
    assert await call(live_server, token, "{ paymentMethods { id } }") == []
    refused = await fund(live_server, token, method_id, "5.00")
    assert refused["code"] == "NOT_FOUND"


async def test_a_card_charge_never_answered_fails_when_its_hold_expires(
    settings: Settings,
) -> None:
    quick = settings.replace(gateway={"timeout_seconds": 0.2})
    async with run_live_server(quick) as live:
        user = await make_user()
        token = await token_for(live, user)
        method_id = await add_card(live, token, "4000000000000119")
        txn = (await fund(live, token, method_id, "8.00"))["transaction"]
        assert txn["status"] == "PROCESSING"
        await funding.expire_stale_holds(datetime.now(UTC) + timedelta(days=2))
        async with connection() as conn:
            row = await conn.fetchrow(
                "SELECT status, failure_reason FROM money_transaction WHERE id = $1",
                int(txn["id"]),
            )
        assert tuple(row) == ("failed", "no answer in time")
        assert await balances(user.id) == (0, 0)
