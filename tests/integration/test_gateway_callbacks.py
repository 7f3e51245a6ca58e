"""Gateway callbacks against the state machine (issue 14, finding 4): references cannot be
guessed, no callback moves a transaction out of a final state, and an ACH debit returned
after it was credited is taken back through the chargeback debt path."""

from __future__ import annotations

import json
import re

import pytest
from redis.asyncio import Redis

from tests.conftest import LiveServer, run_live_server
from tests.factories import make_user
from tests.graphql_client import add_bank, add_card, fund, send, token_for
from tests.ledger_helpers import wallet_cents
from wallet.config import Settings
from wallet.db.engine import connection
from wallet.gateway import signing
from wallet.gateway.base import EventType, GatewayEvent
from wallet.gateway.sandbox import SandboxGateway
from wallet.payments import funding

pytestmark = pytest.mark.usefixtures("assert_ledger_sound")


async def gateway_ref_of(transaction_id: str | int) -> str:
    """The reference the gateway was given for a transaction (what its callbacks name)."""
    async with connection() as conn:
        ref = await conn.fetchval(
            "SELECT gateway_ref FROM money_transaction WHERE id = $1", int(transaction_id)
        )
    assert ref is not None
    return str(ref)


async def post_callback(
    live: LiveServer, event: GatewayEvent, secret: str
) -> tuple[int, dict[str, str]]:
    """POST a callback signed with `secret`, as anyone who knows (or guessed) it can."""
    body = json.dumps(event.to_json()).encode()
    headers = {
        "content-type": "application/json",
        signing.SIGNATURE_HEADER: signing.sign(secret, body),
    }
    async with live.client() as http:
        response = await http.post("/gateway/sandbox/callbacks", content=body, headers=headers)
    return response.status_code, response.json()


async def status_of(transaction_id: str | int) -> str:
    async with connection() as conn:
        return str(
            await conn.fetchval(
                "SELECT status FROM money_transaction WHERE id = $1", int(transaction_id)
            )
        )


async def deliver(live: LiveServer, redis: Redis, days: float) -> list[str]:
    """Let the sandbox's clock run `days` and deliver what fell due, signed, twice each."""
    gateway = SandboxGateway(redis, day_seconds=live.settings.sandbox.day_seconds)
    await gateway.advance(days)
    return await funding.deliver_sandbox_events(gateway, live.settings.gateway.webhook_secret)


async def test_a_callback_for_a_guessed_wallet_txn_reference_finds_nothing(
    live_server: LiveServer,
) -> None:
    """The reviewer: references are predictable (`wallet-txn-<id>`)."""
    user = await make_user()
    token = await token_for(live_server, user)
    bank = await add_bank(live_server, token)
    txn = (await fund(live_server, token, bank, "400.00"))["transaction"]
    assert txn["status"] == "PENDING"
    guessed = GatewayEvent("evt_guess", EventType.ACH_SETTLED, f"wallet-txn-{txn['id']}")
    status, _ = await post_callback(
        live_server, guessed, live_server.settings.gateway.webhook_secret
    )
    assert status == 409  # no such reference: nothing applied
    assert await status_of(txn["id"]) == "pending"
    assert await wallet_cents(user.id) == 0
    # The real reference carries 128 random bits and says nothing of the id.
    ref = await gateway_ref_of(txn["id"])
    assert re.fullmatch(r"wtx_[A-Za-z0-9_-]{22}", ref), ref
    # Another transaction's reference is just as unrelated: no sequence to walk.
    second = (await fund(live_server, token, bank, "1.00"))["transaction"]
    assert await gateway_ref_of(second["id"]) != ref
    assert not ref.endswith(txn["id"]) and f"-{txn['id']}" not in ref


async def test_a_forged_early_settlement_then_the_real_return_leaves_the_shortfall_owed(
    settings: Settings, redis: Redis
) -> None:
    """The reviewer's sequence: with an empty webhook secret, a forged `ach.settled`
    signed with "" credited $400 from an ACH top-up that the bank later returned; the
    real `ach.returned` was then ignored."""
    async with run_live_server(settings.replace(gateway={"webhook_secret": ""})) as live:
        user, accomplice = await make_user(), await make_user()
        token = await token_for(live, user)
        returned_account = await add_bank(live, token, "000111111116")  # the bank returns R01
        top_up = (await fund(live, token, returned_account, "400.00"))["transaction"]
        assert top_up["status"] == "PENDING"

        forged = GatewayEvent(
            "evt_forged", EventType.ACH_SETTLED, await gateway_ref_of(top_up["id"])
        )
        assert await post_callback(live, forged, "") == (200, {"outcome": "applied"})
        assert await wallet_cents(user.id) == 40_000
        sent = await send(live, token, accomplice.username, "300.00")
        assert sent["__typename"] == "SendMoneyPayload", sent

        # The bank's return arrives (1 to 3 simulated days later), delivered twice.
        assert await deliver(live, redis, 3.1) == ["applied", "duplicate"]
        async with connection() as conn:
            debt = await conn.fetchrow("SELECT amount, repaid FROM chargeback_debt")
            wallet = await conn.fetchrow(
                "SELECT status, restricted_reason FROM wallet WHERE user_id = $1", user.id
            )
            take_back = await conn.fetchrow(
                "SELECT t.type, t.amount, t.note, e.kind FROM money_transaction t "
                "JOIN journal_entry e ON e.id = t.entry_id "
                "WHERE t.type = 'chargeback' AND t.initiator_user_id = $1",
                user.id,
            )
        assert await status_of(top_up["id"]) == "reversed"
        assert await wallet_cents(user.id) == 0  # the $100 left was taken
        assert tuple(debt) == (30_000, 0)  # exactly the shortfall is owed
        assert tuple(wallet) == ("restricted", "chargeback")
        assert tuple(take_back) == (
            "chargeback",
            40_000,
            "ACH return: R01: insufficient funds",
            "ach_return",
        )
        refused = await send(live, token, accomplice.username, "0.01")
        assert refused["code"] == "WALLET_UNAVAILABLE"

        # A second settlement, forged or late, changes nothing now.
        again = GatewayEvent("evt_forged_2", EventType.ACH_SETTLED, forged.gateway_ref)
        assert await post_callback(live, again, "") == (
            200,
            {"outcome": "ignored: transaction already reversed"},
        )
        assert await wallet_cents(user.id) == 0
        assert await wallet_cents(accomplice.id) == 30_000


async def test_a_late_settlement_after_a_return_changes_nothing(
    live_server: LiveServer, redis: Redis
) -> None:
    user = await make_user()
    token = await token_for(live_server, user)
    bank = await add_bank(live_server, token, "000111111116")
    top_up = (await fund(live_server, token, bank, "50.00"))["transaction"]
    assert await deliver(live_server, redis, 3.1) == ["applied", "duplicate"]
    assert await status_of(top_up["id"]) == "failed"
    late = GatewayEvent("evt_late", EventType.ACH_SETTLED, await gateway_ref_of(top_up["id"]))
    secret = live_server.settings.gateway.webhook_secret
    assert await post_callback(live_server, late, secret) == (
        200,
        {"outcome": "ignored: transaction already failed"},
    )
    # A return of a top-up that never credited anything takes nothing either.
    late_return = GatewayEvent("evt_late_r", EventType.ACH_RETURNED, late.gateway_ref, "R01")
    assert (await post_callback(live_server, late_return, secret))[1] == {
        "outcome": "ignored: transaction already failed"
    }
    assert await status_of(top_up["id"]) == "failed"
    assert await wallet_cents(user.id) == 0
    async with connection() as conn:
        assert await conn.fetchval("SELECT count(*) FROM chargeback_debt") == 0


async def test_callbacks_of_another_payment_kind_do_not_move_a_transaction(
    live_server: LiveServer,
) -> None:
    """A card's events do not settle an ACH debit (nor the reverse), and a completed
    card top-up is taken back only by a dispute, never by an `ach.returned`."""
    user = await make_user()
    token = await token_for(live_server, user)
    secret = live_server.settings.gateway.webhook_secret
    ach = (await fund(live_server, token, await add_bank(live_server, token), "80.00"))[
        "transaction"
    ]
    card_top_up = (await fund(live_server, token, await add_card(live_server, token), "20.00"))[
        "transaction"
    ]
    assert (ach["status"], card_top_up["status"]) == ("PENDING", "COMPLETED")
    ach_ref, card_ref = await gateway_ref_of(ach["id"]), await gateway_ref_of(card_top_up["id"])

    outcomes = [
        (await post_callback(live_server, GatewayEvent(f"evt_{n}", kind, ref), secret))[1]
        for n, (kind, ref) in enumerate(
            [
                (EventType.CHARGE_SUCCEEDED, ach_ref),
                (EventType.PAYOUT_PAID, ach_ref),
                (EventType.ACH_RETURNED, card_ref),
                (EventType.PAYOUT_FAILED, card_ref),
                (EventType.CHARGE_FAILED, card_ref),
            ]
        )
    ]
    assert outcomes == [
        {"outcome": "ignored: charge.succeeded does not apply to this add"},
        {"outcome": "ignored: payout.paid does not apply to this add"},
        {"outcome": "ignored: transaction already completed"},
        {"outcome": "ignored: transaction already completed"},
        {"outcome": "ignored: transaction already completed"},
    ]
    assert (await status_of(ach["id"]), await status_of(card_top_up["id"])) == (
        "pending",
        "completed",
    )
    assert await wallet_cents(user.id) == 2_000


async def test_a_completed_withdrawal_is_not_reopened_by_a_late_failure(
    live_server: LiveServer, redis: Redis
) -> None:
    user = await make_user(balance="100.00")
    token = await token_for(live_server, user)
    bank = await add_bank(live_server, token)
    payout = (await fund(live_server, token, bank, "30.00", withdraw=True))["transaction"]
    assert await deliver(live_server, redis, 1.1) == ["applied", "duplicate"]
    assert await status_of(payout["id"]) == "completed"
    late = GatewayEvent(
        "evt_payout_late", EventType.PAYOUT_FAILED, await gateway_ref_of(payout["id"]), "R02"
    )
    outcome = await post_callback(live_server, late, live_server.settings.gateway.webhook_secret)
    assert outcome == (200, {"outcome": "ignored: transaction already completed"})
    assert await status_of(payout["id"]) == "completed"
    assert await wallet_cents(user.id) == 7_000
