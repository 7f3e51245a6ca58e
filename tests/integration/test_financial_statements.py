"""Financial statements (`wallet.ledger.books`) against the real database: a known set
of entries on distinct days gives a trial balance, balance sheet, P&L and cash flow
checked to the cent; random balanced entries always give a balance sheet that balances
and a cash flow whose opening plus net change is its closing.

Entries are posted through the ledger's one write path, then dated to the day they
stand for: the test's owner connection moves their `created_at` back (the ledger's
immutability triggers are lifted for that statement only, as a migration would).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import make_user
from wallet.db.engine import connection, transaction
from wallet.ledger import books
from wallet.ledger import service as ledger
from wallet.ledger.books import CashFlowCategory, InvalidPeriod
from wallet.ledger.models import AccountType, EntryDraft, OwnerType, PostingDraft, Purpose, Side
from wallet.money import Currency, Money

pytestmark = pytest.mark.usefixtures("database_url")
# The ledger checks run after the tests whose entries any real flow could have made.
sound = pytest.mark.usefixtures("assert_ledger_sound")

TODAY = datetime.now(UTC).date()
# The known story's days: D1 is three weeks ago, then one entry a day.
D = [TODAY - timedelta(days=21 - n) for n in range(8)]  # D[1] .. D[7] are used


def usd(cents: int) -> Money:
    return Money(cents, Currency.USD)


def noon(day: date) -> datetime:
    return datetime.combine(day, time(12), UTC)


async def backdate(owner_url: str, dated: Sequence[tuple[int, datetime]]) -> None:
    """Give each journal entry (and its postings) the time it stands for."""
    conn = await asyncpg.connect(owner_url)
    try:
        async with conn.transaction():
            await conn.execute("ALTER TABLE posting DISABLE TRIGGER posting_immutable")
            await conn.execute("ALTER TABLE journal_entry DISABLE TRIGGER journal_entry_immutable")
            ids, times = [e for e, _ in dated], [t for _, t in dated]
            await conn.execute(
                "UPDATE posting p SET created_at = d.at FROM unnest($1::bigint[], "
                "$2::timestamptz[]) AS d(entry_id, at) WHERE p.entry_id = d.entry_id",
                ids,
                times,
            )
            await conn.execute(
                "UPDATE journal_entry e SET created_at = d.at FROM unnest($1::bigint[], "
                "$2::timestamptz[]) AS d(id, at) WHERE e.id = d.id",
                ids,
                times,
            )
            await conn.execute("ALTER TABLE posting ENABLE TRIGGER posting_immutable")
            await conn.execute("ALTER TABLE journal_entry ENABLE TRIGGER journal_entry_immutable")
    finally:
        await conn.close()


async def post(kind: str, *legs: tuple[int, Side, Money]) -> int:
    async with transaction() as conn:
        return await ledger.post_entry(
            conn, EntryDraft(kind, tuple(PostingDraft(a, s, m) for a, s, m in legs))
        )


async def wallet_of(owner_id: int, currency: Currency = Currency.USD) -> int:
    async with transaction() as conn:
        return await ledger.open_account(
            conn,
            owner_type=OwnerType.USER,
            owner_id=owner_id,
            currency=currency,
            purpose=Purpose.WALLET,
            account_type=AccountType.LIABILITY,
            no_overdraft=True,
        )


async def payable_of(merchant_id: int) -> int:
    async with transaction() as conn:
        return await ledger.open_account(
            conn,
            owner_type=OwnerType.MERCHANT,
            owner_id=merchant_id,
            currency=Currency.USD,
            purpose="payable",
            account_type=AccountType.LIABILITY,
            no_overdraft=True,
        )


async def system(purpose: str, currency: Currency = Currency.USD) -> int:
    async with connection() as conn:
        return await ledger.system_account_id(conn, currency, purpose)


async def post_the_story(owner_url: str) -> None:
    """One customer funds her wallet, pays a friend, who pays a shop; the shop pays a
    settlement fee and is paid out; a third customer gets promotional credit; the first
    withdraws with a fee. One entry a day, D1 to D7 (and one in EUR on D1)."""
    alice, bob, carol = await make_user(), await make_user(), await make_user()
    a, b, c = await wallet_of(alice.id), await wallet_of(bob.id), await wallet_of(carol.id)
    shop = await payable_of(1)
    clearing = await system(Purpose.GATEWAY_CLEARING_SANDBOX)
    fees = await system(Purpose.FEE_REVENUE)
    promo = await system(Purpose.PROMOTIONAL_FUNDING)
    dr, cr = Side.DEBIT, Side.CREDIT
    dated = [
        (await post("add", (clearing, dr, usd(100_000)), (a, cr, usd(100_000))), D[1]),
        (await post("p2p", (a, dr, usd(25_000)), (b, cr, usd(25_000))), D[2]),
        (await post("merchant_payment", (b, dr, usd(10_000)), (shop, cr, usd(10_000))), D[3]),
        (await post("fee", (shop, dr, usd(150)), (fees, cr, usd(150))), D[4]),
        (await post("settlement", (shop, dr, usd(9_850)), (clearing, cr, usd(9_850))), D[5]),
        (await post("promotional_credit", (promo, dr, usd(500)), (c, cr, usd(500))), D[6]),
        (
            await post(
                "withdrawal",
                (a, dr, usd(20_100)),
                (clearing, cr, usd(20_000)),
                (fees, cr, usd(100)),
            ),
            D[7],
        ),
    ]
    euro = Money(5_000, Currency.EUR)
    eur_clearing = await system(Purpose.GATEWAY_CLEARING_SANDBOX, Currency.EUR)
    eur_wallet = await wallet_of(alice.id, Currency.EUR)
    dated.append((await post("add", (eur_clearing, dr, euro), (eur_wallet, cr, euro)), D[1]))
    await backdate(owner_url, [(entry, noon(day)) for entry, day in dated])


def lines(statement_lines: Sequence[books.Line]) -> list[tuple[str, str, int, int, int, int]]:
    return [
        (
            line.code,
            line.account_type.value,
            line.accounts,
            line.debits.amount_minor,
            line.credits.amount_minor,
            line.balance.amount_minor,
        )
        for line in statement_lines
    ]


def end_of(day: date) -> datetime:
    return books.end_of_day(day)


CLEARING, FEES, PROMO = (
    "system:USD:gateway_clearing:sandbox",
    "system:USD:fee_revenue",
    "system:USD:promotional_funding",
)
WALLETS, SHOPS = "user:*:USD:wallet", "merchant:*:USD:payable"


@sound
async def test_trial_balance_lists_every_account_line_and_debits_equal_credits(
    owner_database_url: str,
) -> None:
    await post_the_story(owner_database_url)
    async with connection() as conn:
        tb = await books.trial_balance(conn, Currency.USD, end_of(TODAY))
    assert lines(tb.lines) == [
        (CLEARING, "asset", 1, 100_000, 29_850, 70_150),
        (WALLETS, "liability", 3, 55_100, 125_500, 70_400),
        (SHOPS, "liability", 1, 10_000, 10_000, 0),
        (FEES, "revenue", 1, 0, 250, 250),
        (PROMO, "expense", 1, 500, 0, 500),
    ]
    assert [line.name for line in tb.lines] == [
        "Gateway clearing (sandbox)",
        "Customer wallets",
        "Merchant balances",
        "Fee revenue",
        "Promotional credit",
    ]
    assert tb.total_debits == tb.total_credits == usd(165_600)
    assert tb.balanced


@sound
async def test_balance_sheet_balances_today_and_as_of_an_earlier_day_from_postings(
    owner_database_url: str,
) -> None:
    await post_the_story(owner_database_url)
    async with connection() as conn:
        today = await books.balance_sheet(conn, Currency.USD, end_of(TODAY))
        earlier = await books.balance_sheet(conn, Currency.USD, end_of(D[3]))
        before = await books.balance_sheet(conn, Currency.USD, end_of(D[0]))

    assert lines(today.assets.lines) == [(CLEARING, "asset", 1, 100_000, 29_850, 70_150)]
    assert lines(today.liabilities.lines) == [
        (WALLETS, "liability", 3, 55_100, 125_500, 70_400),
        (SHOPS, "liability", 1, 10_000, 10_000, 0),
    ]
    assert lines(today.equity.lines) == [("retained_earnings", "equity", 2, 500, 250, -250)]
    assert today.assets.total == usd(70_150)
    assert today.liabilities.total == usd(70_400)
    assert today.retained_earnings == today.equity.total == usd(-250)
    assert today.liabilities_and_equity == usd(70_150)
    assert today.balances

    # As of D3 the shop had been paid but not yet charged or paid out, and the promotion
    # and the withdrawal had not happened: the postings say so, not today's totals.
    assert lines(earlier.assets.lines) == [(CLEARING, "asset", 1, 100_000, 0, 100_000)]
    assert lines(earlier.liabilities.lines) == [
        (WALLETS, "liability", 2, 35_000, 125_000, 90_000),
        (SHOPS, "liability", 1, 0, 10_000, 10_000),
    ]
    assert earlier.retained_earnings == usd(0)
    assert earlier.assets.total == earlier.liabilities_and_equity == usd(100_000)
    assert earlier.balances

    assert before.assets.lines == before.liabilities.lines == ()
    assert before.balances and before.assets.total == usd(0)


@sound
async def test_profit_and_loss_counts_revenue_and_expenses_posted_in_the_period(
    owner_database_url: str,
) -> None:
    await post_the_story(owner_database_url)
    async with connection() as conn:
        later = await books.profit_and_loss(conn, Currency.USD, *books.period_of_days(D[4], D[7]))
        one_day = await books.profit_and_loss(conn, Currency.USD, *books.period_of_days(D[4], D[4]))
        quiet = await books.profit_and_loss(conn, Currency.USD, *books.period_of_days(D[1], D[3]))
    assert lines(later.revenue.lines) == [(FEES, "revenue", 1, 0, 250, 250)]
    assert lines(later.expenses.lines) == [(PROMO, "expense", 1, 500, 0, 500)]
    assert (later.revenue.total, later.expenses.total, later.net_income) == (
        usd(250),
        usd(500),
        usd(-250),
    )
    assert (one_day.revenue.total, one_day.expenses.total, one_day.net_income) == (
        usd(150),
        usd(0),
        usd(150),
    )
    assert quiet.revenue.lines == quiet.expenses.lines == ()
    assert quiet.net_income == usd(0)


@sound
async def test_cash_flow_classifies_each_movement_by_the_other_side_of_its_entry(
    owner_database_url: str,
) -> None:
    await post_the_story(owner_database_url)
    async with connection() as conn:
        flow = await books.cash_flow(conn, Currency.USD, *books.period_of_days(D[2], D[7]))
        whole = await books.cash_flow(conn, Currency.USD, *books.period_of_days(D[0], TODAY))
        still = await books.cash_flow(conn, Currency.USD, *books.period_of_days(D[3], D[4]))

    def by_category(cf: books.CashFlow) -> dict[CashFlowCategory, tuple[int, int]]:
        return {
            line.category: (line.inflow.amount_minor, line.outflow.amount_minor)
            for line in cf.lines
            if line.inflow.amount_minor or line.outflow.amount_minor
        }

    assert flow.opening == usd(100_000)
    assert by_category(flow) == {
        CashFlowCategory.CUSTOMER_FUNDS: (0, 20_100),
        CashFlowCategory.MERCHANTS: (0, 9_850),
        CashFlowCategory.FEES: (100, 0),
    }
    assert (flow.total_inflow, flow.total_outflow, flow.net_change) == (
        usd(100),
        usd(29_950),
        usd(-29_850),
    )
    assert flow.closing == usd(70_150)
    assert flow.reconciles
    assert [line.category for line in flow.lines] == list(CashFlowCategory)

    assert whole.opening == usd(0)
    assert by_category(whole) == {
        CashFlowCategory.CUSTOMER_FUNDS: (100_000, 20_100),
        CashFlowCategory.MERCHANTS: (0, 9_850),
        CashFlowCategory.FEES: (100, 0),
    }
    assert whole.closing == usd(70_150) and whole.reconciles

    assert still.opening == still.closing == usd(100_000)
    assert by_category(still) == {} and still.reconciles


@sound
async def test_each_currency_has_its_own_statements(owner_database_url: str) -> None:
    await post_the_story(owner_database_url)
    async with connection() as conn:
        eur = await books.balance_sheet(conn, Currency.EUR, end_of(TODAY))
        eur_flow = await books.cash_flow(conn, Currency.EUR, *books.period_of_days(D[0], TODAY))
        gbp = await books.trial_balance(conn, Currency.GBP, end_of(TODAY))
    eur_cents = Money(5_000, Currency.EUR)
    assert eur.assets.total == eur.liabilities.total == eur_cents and eur.balances
    assert [
        (line.category, line.inflow) for line in eur_flow.lines if line.inflow.amount_minor
    ] == [(CashFlowCategory.CUSTOMER_FUNDS, eur_cents)]
    assert gbp.lines == () and gbp.balanced


async def test_a_chargeback_is_its_own_cash_outflow_whatever_it_debits(
    owner_database_url: str,
) -> None:
    """The gateway takes back a top-up the customer has partly spent: what is left from
    the wallet, the rest from the reserve (then owed by the customer: not cash). All of
    it is the chargeback outflow. (Ledger entries only: no chargeback debt is recorded,
    so the ledger checks are not run here.)"""
    user, friend = await make_user(), await make_user()
    w, f = await wallet_of(user.id), await wallet_of(friend.id)
    clearing = await system(Purpose.GATEWAY_CLEARING_SANDBOX)
    reserve = await system(Purpose.CHARGEBACK_RESERVE)
    top_up = await post("add", (clearing, Side.DEBIT, usd(5_000)), (w, Side.CREDIT, usd(5_000)))
    spent = await post("p2p", (w, Side.DEBIT, usd(3_000)), (f, Side.CREDIT, usd(3_000)))
    back = await post(
        "chargeback",
        (clearing, Side.CREDIT, usd(5_000)),
        (w, Side.DEBIT, usd(2_000)),
        (reserve, Side.DEBIT, usd(3_000)),
    )
    await backdate(
        owner_database_url, [(top_up, noon(D[1])), (spent, noon(D[2])), (back, noon(D[3]))]
    )
    async with connection() as conn:
        flow = await books.cash_flow(conn, Currency.USD, *books.period_of_days(D[3], D[3]))
        sheet = await books.balance_sheet(conn, Currency.USD, end_of(D[3]))
    moved = {line.category: line.outflow for line in flow.lines if line.outflow.amount_minor}
    assert moved == {CashFlowCategory.CHARGEBACKS: usd(5_000)}
    assert (flow.opening, flow.closing) == (usd(5_000), usd(0)) and flow.reconciles
    assert lines(sheet.assets.lines) == [
        ("system:USD:chargeback_reserve", "asset", 1, 3_000, 0, 3_000),
        ("system:USD:gateway_clearing:sandbox", "asset", 1, 5_000, 5_000, 0),
    ]
    assert sheet.liabilities.total == usd(3_000) and sheet.balances


async def test_a_period_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(InvalidPeriod) as refused:
        books.period_of_days(D[3], D[2])
    assert refused.value.field == "from"
    with pytest.raises(InvalidPeriod):
        books.end_of_day(date.max)
    async with connection() as conn:
        with pytest.raises(InvalidPeriod):
            await books.cash_flow(conn, Currency.USD, noon(D[3]), noon(D[2]))


# Random balanced entries among accounts of every type: cash, a receivable, customer
# wallets (allowed below zero here: the statements do not care), a merchant, revenue,
# expense and equity. Each entry is two or three postings, on one of ten days.
PLAYERS = 8
ENTRIES = st.lists(
    st.tuples(
        st.integers(0, PLAYERS - 1),  # debited
        st.integers(0, PLAYERS - 1),  # credited
        st.integers(0, PLAYERS - 1),  # credited the rest, if it differs
        st.integers(1, 1_000_000),
        st.integers(0, 100),  # percent of the amount to the first credit
        st.integers(0, 9),  # day
    ),
    min_size=1,
    max_size=12,
)


class Players:
    def __init__(self) -> None:
        self.ids: list[int] = []
        self.types: list[AccountType] = []
        self.cash: set[int] = set()
        # Every posting made so far, by any example: (account, side, amount, at).
        self.postings: list[tuple[int, Side, int, datetime]] = []

    async def open(self) -> None:
        if self.ids:
            return
        async with transaction() as conn:
            for n in range(3):
                self.ids.append(
                    await ledger.open_account(
                        conn,
                        owner_type=OwnerType.USER,
                        owner_id=900_000 + n,
                        currency=Currency.USD,
                        purpose=Purpose.WALLET,
                        account_type=AccountType.LIABILITY,
                        no_overdraft=False,
                    )
                )
                self.types.append(AccountType.LIABILITY)
            for purpose, kind in (
                (Purpose.GATEWAY_CLEARING_SANDBOX, AccountType.ASSET),
                (Purpose.FEE_REVENUE, AccountType.REVENUE),
                (Purpose.PROMOTIONAL_FUNDING, AccountType.EXPENSE),
                (Purpose.FX_POSITION, AccountType.EQUITY),
            ):
                self.ids.append(await ledger.system_account_id(conn, Currency.USD, purpose))
                self.types.append(kind)
            # An asset that is not cash (the chargeback reserve is one, but other checks
            # tie it to the debts customers owe).
            self.ids.append(
                await ledger.open_account(
                    conn,
                    owner_type=OwnerType.SYSTEM,
                    owner_id=None,
                    currency=Currency.USD,
                    purpose="test_receivable",
                    account_type=AccountType.ASSET,
                    no_overdraft=False,
                )
            )
            self.types.append(AccountType.ASSET)
        self.cash = {self.ids[3]}

    def balance(self, types: set[AccountType], before: datetime) -> int:
        """What the model says accounts of `types` hold (debit-positive)."""
        wanted = {a for a, t in zip(self.ids, self.types, strict=True) if t in types}
        return sum(
            (m if s is Side.DEBIT else -m)
            for a, s, m, at in self.postings
            if a in wanted and at < before
        )

    def cash_at(self, moment: datetime) -> int:
        return sum(
            (m if s is Side.DEBIT else -m)
            for a, s, m, at in self.postings
            if a in self.cash and at < moment
        )


@pytest.fixture
async def players() -> Players:
    found = Players()
    await found.open()
    return found


@sound
@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    entries=ENTRIES, cut=st.integers(0, 10), window=st.tuples(st.integers(0, 9), st.integers(0, 9))
)
async def test_random_balanced_entries_always_give_statements_that_add_up(
    players: Players,
    owner_database_url: str,
    entries: list[tuple[int, int, int, int, int, int]],
    cut: int,
    window: tuple[int, int],
) -> None:
    first_day = date(2026, 3, 1)
    dated = []
    for debit, credit, rest, amount, percent, day in entries:
        if debit in (credit, rest):
            continue
        first = amount * percent // 100 if credit != rest else amount
        legs = [(players.ids[debit], Side.DEBIT, amount)]
        legs += [(players.ids[credit], Side.CREDIT, first)] if first else []
        legs += [(players.ids[rest], Side.CREDIT, amount - first)] if amount - first else []
        at = noon(first_day + timedelta(days=day))
        entry = await post("test", *((a, s, usd(m)) for a, s, m in legs))
        dated.append((entry, at))
        players.postings += [(a, s, m, at) for a, s, m in legs]
    await backdate(owner_database_url, dated)

    as_of = end_of(first_day + timedelta(days=cut - 1))
    start, end = books.period_of_days(
        first_day + timedelta(days=min(window)), first_day + timedelta(days=max(window))
    )
    async with connection() as conn:
        tb = await books.trial_balance(conn, Currency.USD, as_of)
        sheet = await books.balance_sheet(conn, Currency.USD, as_of)
        flow = await books.cash_flow(conn, Currency.USD, start, end)
        now_sheet = await books.balance_sheet(conn, Currency.USD, end_of(TODAY))
        totals = await ledger.balances(conn, players.ids)

    assert tb.balanced
    assert sheet.balances
    assert sheet.assets.total.amount_minor == players.balance({AccountType.ASSET}, as_of)
    assert sheet.liabilities.total.amount_minor == -players.balance({AccountType.LIABILITY}, as_of)
    assert sheet.retained_earnings.amount_minor == -players.balance(
        {AccountType.REVENUE, AccountType.EXPENSE}, as_of
    )

    # Opening plus net change is closing, and both are the model's cash (the clearing
    # account; the receivable is an asset but not cash).
    assert flow.reconciles
    assert flow.opening.amount_minor == players.cash_at(start)
    assert flow.closing.amount_minor == players.cash_at(end)

    # Today, the statements from postings agree with the ledger's running totals.
    per_type: dict[AccountType, int] = defaultdict(int)
    for account, kind in zip(players.ids, players.types, strict=True):
        per_type[kind] += totals[account].posted
    assert now_sheet.assets.total.amount_minor == per_type[AccountType.ASSET]
    assert now_sheet.liabilities.total.amount_minor == per_type[AccountType.LIABILITY]
    assert now_sheet.retained_earnings.amount_minor == (
        per_type[AccountType.REVENUE] - per_type[AccountType.EXPENSE]
    )
