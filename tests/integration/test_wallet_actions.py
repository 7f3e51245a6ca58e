"""What a wallet may do now, and why not (issue 19): the reasons the app shows on a
disabled action are the answers the commands give, for every wallet status."""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import LiveServer
from tests.factories import make_user
from tests.graphql_client import ADD_MONEY, add_card, call, send, token_for
from wallet.db.engine import connection

pytestmark = pytest.mark.usefixtures("assert_ledger_sound")

ACTIONS = "{ wallet { status actions { action allowed reason } } }"


async def set_status(user_id: int, status: str, reason: str | None = None) -> None:
    async with connection() as conn:  # as an operator's freeze or a chargeback would
        await conn.execute(
            "UPDATE wallet SET status = $2, frozen_reason = $3, restricted_reason = $3 "
            "WHERE user_id = $1",
            user_id,
            status,
            reason,
        )


@pytest.mark.parametrize("status", ["active", "frozen", "restricted"])
async def test_the_actions_say_what_the_commands_do(live_server: LiveServer, status: str) -> None:
    user, friend = await make_user(balance="20.00"), await make_user()
    token = await token_for(live_server, user)
    card = await add_card(live_server, token)
    await set_status(user.id, status, "under review" if status != "active" else None)
    wallet = await call(live_server, token, ACTIONS)
    actions = {a["action"]: a for a in wallet["actions"]}
    assert set(actions) == {"SEND", "PAY", "WITHDRAW", "CONVERT", "ADD", "REQUEST"}

    sent = await send(live_server, token, friend.username, "1.00")
    assert (sent["__typename"] == "SendMoneyPayload") is actions["SEND"]["allowed"], sent
    added = await call(
        live_server,
        token,
        ADD_MONEY,
        {"input": {"paymentMethodId": card, "amount": "5.00", "idempotencyKey": uuid.uuid4().hex}},
    )
    assert (added["__typename"] == "FundingPayload") is actions["ADD"]["allowed"], added
    for name in ("SEND", "PAY", "WITHDRAW", "CONVERT"):
        assert actions[name]["allowed"] is (status == "active")
    if status == "active":
        assert all(a["reason"] is None for a in actions.values())
    else:
        assert sent["code"] == "WALLET_UNAVAILABLE"
        reason = actions["SEND"]["reason"]
        assert "under review" in reason
        assert reason == actions["PAY"]["reason"] == actions["WITHDRAW"]["reason"]


async def test_a_frozen_wallet_says_why_and_that_money_still_arrives(
    live_server: LiveServer,
) -> None:
    user = await make_user(balance="1.00")
    token = await token_for(live_server, user)
    await set_status(user.id, "frozen", "a compliance check")
    actions = {a["action"]: a for a in (await call(live_server, token, ACTIONS))["actions"]}
    assert actions["SEND"] == {
        "action": "SEND",
        "allowed": False,
        "reason": "Your wallet is frozen (a compliance check), so no money can leave it. "
        "Contact support to have it reviewed.",
    }
    assert actions["REQUEST"]["allowed"] is True  # a frozen wallet receives (the default)
    await set_status(user.id, "closed")
    closed = {a["action"]: a for a in (await call(live_server, token, ACTIONS))["actions"]}
    assert not any(a["allowed"] for a in closed.values())
    assert closed["ADD"]["reason"] == "Your wallet is closed."
