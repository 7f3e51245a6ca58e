"""Rewards: points and cashback by rules, caps, tiers, reversal on refunds, redemption,
streaks and badges (referrals: test_referrals.py)."""

import uuid
from typing import Any

import pytest

from tests.conftest import LiveServer
from tests.graphql_client import call
from tests.ledger_helpers import wallet_cents
from tests.merchant_helpers import REFUND, create, customer, pay, shop
from wallet.db.engine import connection
from wallet.rates import SandboxRates
from wallet.rewards.service import award_payment

pytestmark = pytest.mark.usefixtures("assert_ledger_sound")

REWARDS = """{ rewards { points pointsValueUsd tier { name } nextTier { name minVolumeUsd }
  streakDays badges { code earned } cashbackThisMonthUsd
  recentAwards { points pointsReversed cashback cashbackReversed merchant } } }"""
REDEEM = """mutation($p: Int!, $k: String!) { redeemPoints(points: $p, idempotencyKey: $k) {
  __typename ... on RedeemPointsPayload { points amount }
  ... on ValidationError { fieldErrors { field code } } } }"""


async def buy(live: LiveServer, shop_token: str, merchant_id: str, token: str, amount: str) -> str:
    request = (await create(live, shop_token, merchant_id, amount=amount))["request"]
    return str((await pay(live, token, request["id"]))["payment"]["transactionId"])


async def refund(
    live: LiveServer, shop_token: str, merchant_id: str, payment: str, amount: str
) -> Any:
    variables = {
        "input": {
            "merchantId": merchant_id,
            "transactionId": payment,
            "amount": amount,
            "idempotencyKey": uuid.uuid4().hex,
        }
    }
    return await call(live, shop_token, REFUND, variables)


async def test_a_food_payment_earns_points_and_cashback_and_refunds_take_them_back(
    live_server: LiveServer,
) -> None:
    _, shop_token, merchant_id = await shop(live_server)  # Corner Coffee: MCC 5814, food
    buyer, token = await customer(live_server, "50.00")
    payment = await buy(live_server, shop_token, merchant_id, token, "10.00")
    award = await award_payment(buyer.id, int(payment), await SandboxRates().snapshot())
    assert award is not None
    # 1 point per USD on every payment + 2 more on food = 30 points; 2 % food cashback.
    assert (award.points, award.cashback.amount_minor, award.tier) == (30, 20, "bronze")
    assert await award_payment(buyer.id, int(payment), await SandboxRates().snapshot()) is None
    assert await wallet_cents(buyer.id) == 4_020
    summary = await call(live_server, token, REWARDS)
    assert (summary["points"], summary["pointsValueUsd"]) == (30, "0.30")
    assert summary["recentAwards"] == [
        {
            "points": 30,
            "pointsReversed": 0,
            "cashback": "0.20",
            "cashbackReversed": "0.00",
            "merchant": "Corner Coffee",
        }
    ]

    # Half refunded: half the rewards go back, in the refund's own transaction.
    await refund(live_server, shop_token, merchant_id, payment, "5.00")
    assert await wallet_cents(buyer.id) == 4_020 + 500 - 10
    half = await call(live_server, token, REWARDS)
    assert (half["points"], half["recentAwards"][0]["cashbackReversed"]) == (15, "0.10")
    await refund(live_server, shop_token, merchant_id, payment, "5.00")
    assert await wallet_cents(buyer.id) == 5_000
    after = await call(live_server, token, REWARDS)
    assert after["points"] == 0
    assert after["recentAwards"][0] | {"merchant": None} == {
        "points": 30,
        "pointsReversed": 30,
        "cashback": "0.20",
        "cashbackReversed": "0.20",
        "merchant": None,
    }
    async with connection() as conn:
        status = await conn.fetchval(
            "SELECT status FROM money_transaction WHERE type = 'reward' "
            "AND counterparty_user_id = $1",
            buyer.id,
        )
    assert status == "reversed"


async def test_a_refund_before_the_award_leaves_rewards_on_what_remains(
    live_server: LiveServer,
) -> None:
    _, shop_token, merchant_id = await shop(live_server)
    buyer, token = await customer(live_server, "50.00")
    payment = await buy(live_server, shop_token, merchant_id, token, "20.00")
    await refund(live_server, shop_token, merchant_id, payment, "15.00")
    award = await award_payment(buyer.id, int(payment), await SandboxRates().snapshot())
    assert award is not None
    assert (award.points, award.cashback.amount_minor) == (15, 10)  # on the 5.00 left


async def test_cashback_caps_and_tiers(live_server: LiveServer) -> None:
    _, shop_token, merchant_id = await shop(live_server)
    buyer, token = await customer(live_server, "2000.00")
    rates = await SandboxRates().snapshot()
    earned = []
    for _ in range(5):
        payment = await buy(live_server, shop_token, merchant_id, token, "300.00")
        award = await award_payment(buyer.id, int(payment), rates)
        assert award is not None
        earned.append((award.cashback.amount_minor, award.tier))
    # 2 % of 300 is 6.00, capped at 5.00 a payment and 20.00 a month; the tier rises to
    # silver once 500 USD was spent in 30 days.
    assert earned == [
        (500, "bronze"),
        (500, "silver"),
        (500, "silver"),
        (500, "silver"),
        (0, "silver"),
    ]
    summary = await call(live_server, token, REWARDS)
    assert (summary["tier"]["name"], summary["nextTier"]["name"]) == ("silver", "gold")
    assert summary["cashbackThisMonthUsd"] == "20.00"
    # Silver multiplies points by 1.25: 300 USD x (1 + 2 food + 1 over 100 USD) -> 1500.
    assert summary["recentAwards"][0]["points"] == 1500
    assert summary["streakDays"] == 1
    badges = {b["code"]: b["earned"] for b in summary["badges"]}
    assert (badges["first_payment"], badges["saver"], badges["gold"]) == (True, False, False)


async def test_points_are_redeemed_for_cash_once_and_only_when_there(
    live_server: LiveServer,
) -> None:
    _, shop_token, merchant_id = await shop(live_server)
    buyer, token = await customer(live_server, "100.00")
    payment = await buy(live_server, shop_token, merchant_id, token, "50.00")
    await award_payment(buyer.id, int(payment), await SandboxRates().snapshot())  # 150 points
    before = await wallet_cents(buyer.id)
    too_few = await call(live_server, token, REDEEM, {"p": 50, "k": "a"})
    assert too_few["fieldErrors"] == [{"field": "points", "code": "INVALID"}]
    too_many = await call(live_server, token, REDEEM, {"p": 500, "k": "b"})
    assert too_many["fieldErrors"] == [{"field": "points", "code": "INVALID"}]
    done = await call(live_server, token, REDEEM, {"p": 120, "k": "c"})
    assert done == {"__typename": "RedeemPointsPayload", "points": 120, "amount": "1.20"}
    assert await call(live_server, token, REDEEM, {"p": 120, "k": "c"}) == done
    assert await wallet_cents(buyer.id) == before + 120
    assert (await call(live_server, token, REWARDS))["points"] == 30
