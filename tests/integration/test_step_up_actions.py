"""Linking a card or bank account and withdrawing need a fresh second factor."""

import uuid

from tests.conftest import LiveServer
from tests.factories import make_user
from tests.graphql_client import (
    ADD_BANK,
    ADD_CARD,
    WITHDRAW,
    add_bank,
    bank_details,
    call,
    card_details,
    step_up,
    token_for,
    tokenize,
)
from tests.integration.test_money_requests_api import ask, pay
from tests.integration.test_splits_api import EXPENSE, GROUP, answer_all, settle
from tests.ledger_helpers import wallet_cents
from wallet.db.engine import connection


async def test_linking_a_payment_method_asks_for_a_second_factor(live_server: LiveServer) -> None:
    user = await make_user()
    token = await token_for(live_server, user)
    card = await tokenize(live_server, card_details())
    bank = await tokenize(live_server, bank_details())
    for query, method in ((ADD_CARD, card), (ADD_BANK, bank)):
        asked = await call(live_server, token, query, {"input": {"token": method}})
        assert (asked["__typename"], asked["code"]) == ("StepUpRequired", "STEP_UP_REQUIRED")
    async with connection() as conn:
        assert await conn.fetchval("SELECT count(*) FROM payment_method") == 0
    await step_up(live_server, token)
    # The refusal attached nothing: the same token links once the factor is proven.
    linked = await call(live_server, token, ADD_CARD, {"input": {"token": card}})
    assert linked["__typename"] == "AddPaymentMethodPayload"


async def test_a_withdrawal_asks_then_the_same_request_goes_through(
    live_server: LiveServer,
) -> None:
    user = await make_user(balance="30.00")
    token = await token_for(live_server, user)
    bank = await add_bank(live_server, token)  # steps this session up
    fresh_session = await token_for(live_server, user)
    request = {"paymentMethodId": bank, "amount": "10.00", "idempotencyKey": uuid.uuid4().hex}
    asked = await call(live_server, fresh_session, WITHDRAW, {"input": request})
    assert asked["__typename"] == "StepUpRequired"
    assert await wallet_cents(user.id) == 3_000
    await step_up(live_server, fresh_session)
    done = await call(live_server, fresh_session, WITHDRAW, {"input": request})
    assert done["transaction"]["status"] == "PENDING"
    again = await call(live_server, fresh_session, WITHDRAW, {"input": request})
    assert again["transaction"]["id"] == done["transaction"]["id"]  # the same withdrawal
    assert await wallet_cents(user.id) == 3_000  # held, not yet paid out


async def test_paying_a_large_money_request_asks_then_the_same_request_goes_through(
    live_server: LiveServer,
) -> None:
    requester, payer = await make_user(), await make_user(balance="900.00")
    requester_token, payer_token = (
        await token_for(live_server, requester),
        await token_for(live_server, payer),
    )
    small = await ask(live_server, requester_token, f"@{payer.username}", "20.00")
    large = await ask(live_server, requester_token, f"@{payer.username}", "600.00")
    paid_small = await pay(live_server, payer_token, small["request"]["id"])
    assert paid_small["request"]["status"] == "PAID"  # under the threshold: no prompt
    key = uuid.uuid4().hex
    asked = await pay(live_server, payer_token, large["request"]["id"], key)
    assert (asked["__typename"], asked["code"]) == ("StepUpRequired", "STEP_UP_REQUIRED")
    assert await wallet_cents(payer.id) == 88_000
    async with connection() as conn:
        status = await conn.fetchval(
            "SELECT status FROM money_request WHERE id = $1", int(large["request"]["id"])
        )
    assert status == "open"
    await step_up(live_server, payer_token)
    paid = await pay(live_server, payer_token, large["request"]["id"], key)
    assert paid["request"]["status"] == "PAID"
    assert await wallet_cents(payer.id) == 28_000


async def test_settling_up_a_large_debt_asks_then_the_same_request_goes_through(
    live_server: LiveServer,
) -> None:
    alice, bob = await make_user(balance="900.00"), await make_user()
    alice_token, bob_token = (
        await token_for(live_server, alice),
        await token_for(live_server, bob),
    )
    group = await call(
        live_server,
        bob_token,
        GROUP,
        {"input": {"name": "Rent", "members": [f"@{alice.username}"]}},
    )
    group_id = group["group"]["id"]
    await answer_all(live_server, alice_token)  # alice joins the group
    await call(
        live_server,
        bob_token,
        EXPENSE,
        {"input": {"groupId": group_id, "description": "Rent", "amount": "1200.00"}},
    )
    key = uuid.uuid4().hex
    asked = await settle(live_server, alice_token, group_id, key)
    assert asked["__typename"] == "StepUpRequired"
    assert (await wallet_cents(alice.id), await wallet_cents(bob.id)) == (90_000, 0)
    await step_up(live_server, alice_token)
    settled = await settle(live_server, alice_token, group_id, key)
    assert [t["amount"] for t in settled["transfers"]] == ["600.00"]
    assert (await wallet_cents(alice.id), await wallet_cents(bob.id)) == (30_000, 60_000)
