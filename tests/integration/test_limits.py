"""Limits by level, per kind of movement, valued in US dollars; the balance cap."""

import asyncio
import uuid
from datetime import UTC, datetime

import pytest

from tests.conftest import LiveServer
from tests.factories import make_user
from tests.graphql_client import add_card, call, fund, send, token_for
from tests.ledger_helpers import wallet_cents
from wallet.config import DEFAULT_POLICY, LevelLimits, PeriodLimits, parse_policy
from wallet.db.engine import transaction
from wallet.limits import service as limits
from wallet.limits.service import LimitExceeded, LimitKind, LimitScope
from wallet.money import Currency, Money
from wallet.transfers.service import SendMoney, send_money
from wallet.wallets.service import grant_promotional_credit

pytestmark = pytest.mark.usefixtures("assert_ledger_sound")

LIMITS = """{ limits { level currency balanceCap balance
  limits { scope perTransaction daily dailyUsed dailyRemaining monthly monthlyRemaining } } }"""


def usd(dollars: int) -> Money:
    return Money(dollars * 100, Currency.USD)


def period(per_transaction: int, daily: int, monthly: int) -> PeriodLimits:
    return PeriodLimits(usd(per_transaction), usd(daily), usd(monthly))


@pytest.fixture
def tight_limits(monkeypatch: pytest.MonkeyPatch) -> dict[str, LevelLimits]:
    """Unverified users: send $50/day and $70/month, add $100/day, hold at most $150."""
    base = DEFAULT_POLICY["unverified"].by_scope
    policy = dict(DEFAULT_POLICY)
    policy["unverified"] = LevelLimits(
        {
            **base,
            LimitScope.SEND.value: period(per_transaction=50, daily=50, monthly=70),
            LimitScope.ADD.value: period(per_transaction=100, daily=100, monthly=1_000),
        },
        balance_cap=usd(150),
    )
    monkeypatch.setattr(limits, "policy", lambda: policy)
    return policy


def command(sender: int, recipient: str, amount: Money) -> SendMoney:
    return SendMoney(sender, recipient, amount, "", uuid.uuid4().hex)


async def test_limits_are_in_dollars_whatever_the_currency() -> None:
    alice, bob = await make_user(), await make_user()
    async with transaction() as conn:
        await grant_promotional_credit(conn, alice.id, Money(500_000, Currency.JPY))
    # ¥120,000 is about $793: under the $1,000 per-transaction limit of an unverified user
    # (counted in yen, the limit would have been ¥1,000).
    sent = await send_money(command(alice.id, bob.username, Money(120_000, Currency.JPY)))
    assert sent.status == "completed"
    with pytest.raises(LimitExceeded) as refused:
        await send_money(command(alice.id, bob.username, Money(151_371, Currency.JPY)))
    assert (refused.value.limit_kind, refused.value.limit) == (
        LimitKind.PER_TRANSACTION,
        Money(151_370, Currency.JPY),  # $1,000 at 151.37 yen to the dollar
    )
    # Today's yen count against the daily $2,500 in dollars: ¥120,000 / 151.37 = $792.76.
    async with transaction() as conn:
        used = await limits.usage(conn, alice.id, await limits.rates())
    assert (used[LimitScope.SEND].today, used[LimitScope.ADD].today) == (79_276, 0)


async def test_monthly_limit_and_kinds_of_movement_count_separately(
    live_server: LiveServer, tight_limits: object
) -> None:
    alice, bob = await make_user(), await make_user()
    token = await token_for(live_server, alice)
    card = await add_card(live_server, token)
    assert (await fund(live_server, token, card, "80.00"))["transaction"]["status"] == "COMPLETED"
    over_add = await fund(live_server, token, card, "30.00")
    assert (over_add["limit"], over_add["scope"], over_add["remaining"]) == (
        "DAILY",
        "ADD",
        "20.00",
    )
    # Adding money used none of the send limits.
    assert (await send(live_server, token, bob.username, "40.00"))[
        "__typename"
    ] == "SendMoneyPayload"
    over_send = await send(live_server, token, bob.username, "20.00")
    assert (over_send["limit"], over_send["scope"], over_send["remaining"]) == (
        "DAILY",
        "SEND",
        "10.00",
    )
    assert "daily limit for sending" in over_send["message"]
    view = await call(live_server, token, LIMITS)
    rows = {row["scope"]: row for row in view["limits"]}
    assert (rows["ADD"]["dailyUsed"], rows["ADD"]["dailyRemaining"]) == ("80.00", "20.00")
    assert (rows["SEND"]["dailyUsed"], rows["SEND"]["monthlyRemaining"]) == ("40.00", "30.00")
    assert (view["level"], view["balanceCap"], view["balance"]) == ("UNVERIFIED", "150.00", "40.00")
    assert await wallet_cents(alice.id) == 4_000


async def test_monthly_limit_binds_before_the_daily_one(tight_limits: object) -> None:
    alice, bob = await make_user(balance="100.00"), await make_user()
    async with transaction() as conn:
        # An earlier send this month (the test may run on the 1st: then it is "today").
        await conn.execute(
            "INSERT INTO money_transaction (type, status, amount, currency, initiator_user_id) "
            "VALUES ('send', 'completed', 4000, 'USD', $1)",
            alice.id,
        )
        await conn.execute(
            "UPDATE money_transaction SET created_at = "
            "date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' "
            "WHERE initiator_user_id = $1 AND type = 'send'",
            alice.id,
        )
    with pytest.raises(LimitExceeded) as refused:
        await send_money(command(alice.id, bob.username, Money(3_500, Currency.USD)))
    if datetime.now(UTC).day == 1:  # the earlier send was today: $50 - $40 is left today
        expected = (LimitKind.DAILY, Money(1_000, Currency.USD))
    else:  # $70 - $40 is left this month, all of today's $50 being unused
        expected = (LimitKind.MONTHLY, Money(3_000, Currency.USD))
    assert (refused.value.limit_kind, refused.value.remaining) == expected


async def test_adding_money_stops_at_the_balance_cap(
    live_server: LiveServer, tight_limits: object
) -> None:
    user = await make_user(balance="90.00")
    token = await token_for(live_server, user)
    card = await add_card(live_server, token)
    refused = await fund(live_server, token, card, "70.00")
    assert (refused["limit"], refused["remaining"]) == ("BALANCE_CAP", "60.00")
    assert refused["message"] == "Your wallet may hold up to $150.00; you can add $60.00 more"
    assert await wallet_cents(user.id) == 9_000


async def test_concurrent_sends_to_a_capped_recipient_fill_it_exactly(tight_limits: object) -> None:
    recipient = await make_user(balance="90.00")
    senders = [await make_user(balance="25.00") for _ in range(10)]

    async def one(sender_id: int) -> str:
        try:
            await send_money(command(sender_id, recipient.username, Money(2_000, Currency.USD)))
        except LimitExceeded as exc:
            assert (exc.limit_kind, exc.scope) == (LimitKind.BALANCE_CAP, LimitScope.RECEIVE)
            return "capped"
        return "sent"

    outcomes = await asyncio.gather(*(one(s.id) for s in senders))
    assert outcomes.count("sent") == 3  # $90 + 3 x $20 = $150, the cap
    assert await wallet_cents(recipient.id) == 15_000
    assert sum([await wallet_cents(s.id) for s in senders]) == 10 * 2_500 - 3 * 2_000


def test_policy_overrides_merge_over_the_defaults_and_reject_unknown_names() -> None:
    policy = parse_policy(
        '{"basic": {"send": {"daily": 8000}, "balance_cap": 20000}, "full": {"balance_cap": null}}'
    )
    assert policy["basic"].by_scope[LimitScope.SEND.value] == period(5_000, 8_000, 30_000)
    assert policy["basic"].by_scope[LimitScope.ADD.value] == period(5_000, 10_000, 30_000)
    assert (policy["basic"].balance_cap, policy["full"].balance_cap) == (usd(20_000), None)
    for bad in ('{"gold": {}}', '{"basic": {"send": {"weekly": 1}}}', '{"basic": {"fly": {}}}'):
        with pytest.raises(ValueError):
            parse_policy(bad)
