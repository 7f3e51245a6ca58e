"""The fraud rules score every payment a user makes, not only plain sends.

A payment that cannot wait for a review (a cross-currency send on a quote, paying a
money request, a settle-up, paying a merchant) is refused at the block score and, at the
hold score, needs a second factor proven for it instead of being held.
"""

from __future__ import annotations

import json
import uuid

import pytest

from tests.conftest import LiveServer
from tests.factories import make_user
from tests.graphql_client import call, send, step_up, token_for
from tests.integration.test_fx_api import SEND_ABROAD, quote
from tests.integration.test_money_requests_api import ask
from tests.integration.test_money_requests_api import pay as pay_money_request
from tests.integration.test_splits_api import GROUP, answer_all, expense, settle
from tests.ledger_helpers import wallet_cents
from tests.merchant_helpers import create, customer, merchant_cents, shop
from tests.merchant_helpers import pay as pay_merchant
from wallet.db.engine import connection
from wallet.fraud.engine import forget_rules
from wallet.users.models import User

pytestmark = pytest.mark.usefixtures("assert_ledger_sound")


async def hold_first_payments_above(usd: int) -> None:
    """Make a first payment to anyone of `usd` dollars or more score a hold."""
    async with connection() as conn:
        await conn.execute(
            "UPDATE fraud_rule SET score = 60, params = $1::jsonb WHERE code = 'new_recipient'",
            json.dumps({"min_usd": usd}),
        )
    forget_rules()


async def blocklist(user_id: int) -> None:
    async with connection() as conn:
        await conn.execute(
            "INSERT INTO fraud_blocklist (kind, value, reason) VALUES ('user', $1, 'mule')",
            str(user_id),
        )


async def blocks_recorded(user_id: int) -> list[str]:
    async with connection() as conn:
        rows = await conn.fetch(
            "SELECT hits FROM fraud_review WHERE user_id = $1 AND decision = 'block' "
            "AND status = 'blocked' ORDER BY id",
            user_id,
        )
    return [h["code"] for r in rows for h in json.loads(r["hits"])]


async def owed_by_bob(
    live: LiveServer, balances: str, expense_paid_by_alice: str
) -> tuple[User, User, str, str]:
    """Alice and Bob with `balances` each, in a group where Alice paid an expense split
    evenly: (alice, bob, bob's token, the group's id)."""
    alice, bob = await make_user(balance=balances), await make_user(balance=balances)
    alice_token = await token_for(live, alice)
    group = await call(
        live, alice_token, GROUP, {"input": {"name": "Flat", "members": [f"@{bob.username}"]}}
    )
    group_id = group["group"]["id"]
    bob_token = await token_for(live, bob)
    await answer_all(live, bob_token)  # bob joins the group
    await expense(live, alice_token, group_id, expense_paid_by_alice)
    return alice, bob, bob_token, group_id


async def test_paying_a_risky_money_request_needs_a_second_factor(
    live_server: LiveServer,
) -> None:
    requester, payer = await make_user(), await make_user(balance="300.00")
    asked = await ask(
        live_server, await token_for(live_server, requester), payer.username, "200.00"
    )
    request_id = asked["request"]["id"]
    token = await token_for(live_server, payer)
    await hold_first_payments_above(100)  # well under the $500 step-up threshold

    challenged = await pay_money_request(live_server, token, request_id)
    assert (challenged["__typename"], challenged["code"]) == ("StepUpRequired", "STEP_UP_REQUIRED")
    assert await wallet_cents(payer.id) == 30_000
    await step_up(live_server, token)
    paid = await pay_money_request(live_server, token, request_id)
    assert paid["request"]["status"] == "PAID"
    assert (await wallet_cents(payer.id), await wallet_cents(requester.id)) == (10_000, 20_000)


async def test_paying_a_blocklisted_requester_is_refused_and_recorded(
    live_server: LiveServer,
) -> None:
    requester, payer = await make_user(), await make_user(balance="30.00")
    asked = await ask(live_server, await token_for(live_server, requester), payer.username, "5.00")
    await blocklist(requester.id)
    token = await token_for(live_server, payer)
    await step_up(live_server, token)  # a second factor does not get past a block
    refused = await pay_money_request(live_server, token, asked["request"]["id"])
    assert (refused["__typename"], refused["code"]) == ("PaymentBlocked", "PAYMENT_BLOCKED")
    assert (await wallet_cents(payer.id), await wallet_cents(requester.id)) == (3_000, 0)
    assert await blocks_recorded(payer.id) == ["blocklist"]
    async with connection() as conn:
        status = await conn.fetchval(
            "SELECT status FROM money_request WHERE id = $1", int(asked["request"]["id"])
        )
    assert status == "open"


async def test_settling_up_with_a_blocklisted_member_moves_nothing(
    live_server: LiveServer,
) -> None:
    alice, bob, bob_token, group_id = await owed_by_bob(live_server, "100.00", "40.00")
    await blocklist(alice.id)
    refused = await settle(live_server, bob_token, group_id)
    assert refused["__typename"] == "PaymentBlocked"
    assert (await wallet_cents(alice.id), await wallet_cents(bob.id)) == (10_000, 10_000)
    assert await blocks_recorded(bob.id) == ["blocklist"]


async def test_a_risky_settle_up_asks_for_a_second_factor_then_goes_through(
    live_server: LiveServer,
) -> None:
    alice, bob, bob_token, group_id = await owed_by_bob(live_server, "500.00", "400.00")
    await hold_first_payments_above(150)
    key = uuid.uuid4().hex
    challenged = await settle(live_server, bob_token, group_id, key)
    assert challenged["__typename"] == "StepUpRequired"
    assert await wallet_cents(bob.id) == 50_000
    await step_up(live_server, bob_token)
    settled = await settle(live_server, bob_token, group_id, key)
    assert settled["transfers"] == [{"to": alice.username, "amount": "200.00"}]
    assert await wallet_cents(bob.id) == 30_000


async def test_a_risky_cross_currency_send_asks_then_goes_through(
    live_server: LiveServer,
) -> None:
    alice, bob = await make_user(balance="400.00"), await make_user()
    token = await token_for(live_server, alice)
    await hold_first_payments_above(100)
    offered = (await quote(live_server, token, "USD", "EUR", "200.00"))["quote"]
    variables = {
        "input": {
            "recipient": bob.username,
            "amount": offered["sellAmount"],
            "quoteId": offered["id"],
            "idempotencyKey": uuid.uuid4().hex,
        }
    }
    challenged = await call(live_server, token, SEND_ABROAD, variables)
    assert challenged["code"] == "STEP_UP_REQUIRED"
    assert await wallet_cents(alice.id) == 40_000  # the quote is still unused
    await step_up(live_server, token)
    sent = await call(live_server, token, SEND_ABROAD, variables)
    assert sent["transfer"]["receivedCurrency"] == "EUR"
    assert await wallet_cents(alice.id) == 20_000


async def test_a_cross_currency_send_to_a_blocklisted_user_is_refused(
    live_server: LiveServer,
) -> None:
    alice, bob = await make_user(balance="100.00"), await make_user()
    token = await token_for(live_server, alice)
    await blocklist(bob.id)
    offered = (await quote(live_server, token, "USD", "EUR", "20.00"))["quote"]
    refused = await call(
        live_server,
        token,
        SEND_ABROAD,
        {
            "input": {
                "recipient": bob.username,
                "amount": offered["sellAmount"],
                "quoteId": offered["id"],
                "idempotencyKey": uuid.uuid4().hex,
            }
        },
    )
    assert refused["code"] == "PAYMENT_BLOCKED"
    assert await wallet_cents(alice.id) == 10_000
    assert await blocks_recorded(alice.id) == ["blocklist"]


async def test_merchant_payments_are_scored_and_the_pin_is_their_second_factor(
    live_server: LiveServer,
) -> None:
    owner, owner_token, merchant_id = await shop(live_server)
    buyer, token = await customer(live_server, balance="300.00")
    await hold_first_payments_above(100)
    first = await create(live_server, owner_token, merchant_id, amount="150.00")
    paid = await pay_merchant(live_server, token, first["request"]["id"])
    assert paid["__typename"] == "PayPaymentRequestPayload"  # risky, but the PIN proves it
    assert await merchant_cents(merchant_id) == 15_000

    await blocklist(owner.id)
    second = await create(live_server, owner_token, merchant_id, amount="5.00")
    refused = await pay_merchant(live_server, token, second["request"]["id"])
    assert (refused["__typename"], refused["code"]) == ("PaymentBlocked", "PAYMENT_BLOCKED")
    assert await merchant_cents(merchant_id) == 15_000
    assert await wallet_cents(buyer.id) == 15_000
    assert await blocks_recorded(buyer.id) == ["blocklist"]


async def test_sends_to_a_contact_without_a_wallet_are_scored_too(
    live_server: LiveServer,
) -> None:
    alice = await make_user(balance="400.00")
    token = await token_for(live_server, alice)
    async with connection() as conn:
        await conn.execute(
            "INSERT INTO fraud_blocklist (kind, value, reason) "
            "VALUES ('phone', '+14155550911', 'mule')"
        )
    refused = await send(live_server, token, "+1 415 555 0911", "5.00")
    assert refused["code"] == "PAYMENT_BLOCKED"
    assert await blocks_recorded(alice.id) == ["blocklist"]

    await hold_first_payments_above(100)
    key = uuid.uuid4().hex
    challenged = await send(live_server, token, "newcomer@example.org", "150.00", key=key)
    assert challenged["code"] == "STEP_UP_REQUIRED"
    assert await wallet_cents(alice.id) == 40_000
    await step_up(live_server, token)
    escrowed = await send(live_server, token, "newcomer@example.org", "150.00", key=key)
    assert escrowed["transfer"]["status"] == "PENDING"  # waiting to be claimed
    assert await wallet_cents(alice.id) == 25_000
