"""Linking a card or bank account and withdrawing need a fresh second factor."""

import uuid

from tests.conftest import LiveServer
from tests.factories import make_user
from tests.graphql_client import (
    ADD_BANK,
    ADD_CARD,
    WITHDRAW,
    add_bank,
    call,
    step_up,
    token_for,
)
from tests.ledger_helpers import wallet_cents
from wallet.db.engine import connection

CARD = {"number": "4242424242424242", "expMonth": 12, "expYear": 2030, "cvc": "123"}
BANK = {"routingNumber": "110000000", "accountNumber": "000123456789", "holderName": "Pat"}


async def test_linking_a_payment_method_asks_for_a_second_factor(live_server: LiveServer) -> None:
    user = await make_user()
    token = await token_for(live_server, user)
    for query, details in ((ADD_CARD, CARD), (ADD_BANK, BANK)):
        asked = await call(live_server, token, query, {"input": details})
        assert (asked["__typename"], asked["code"]) == ("StepUpRequired", "STEP_UP_REQUIRED")
    async with connection() as conn:
        assert await conn.fetchval("SELECT count(*) FROM payment_method") == 0
    await step_up(live_server, token)
    linked = await call(live_server, token, ADD_CARD, {"input": CARD})
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
