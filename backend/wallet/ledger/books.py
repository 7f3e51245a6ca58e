"""Financial statements from the chart of accounts: trial balance, balance sheet, profit
and loss, cash flow (issue 16; docs/operations.md, "Financial statements").

Every figure is summed from posting rows written before a bound (`posting.created_at`,
the time of the entry's transaction, shared by all its postings), in one SQL aggregate
per statement: a statement as of a past date is that date's, never today's running
totals. Each statement is in one currency: postings are balanced per currency, and
nothing is translated at an FX rate (a multi-currency group would add one per currency).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import Enum
from typing import Any

from wallet.db.engine import Connection
from wallet.errors import Refusal
from wallet.ledger.models import AccountType, normal_balance
from wallet.money import Currency, Money

# Cash and cash equivalents: the platform's asset accounts whose purpose starts with one
# of these (`gateway_clearing:sandbox`, and a real processor's or bank's clearing
# account beside it): money actually held at the processor or bank. The chargeback
# reserve is an asset too, but not cash: it is what customers owe after a chargeback
# took more than their wallet held (debited when the gateway takes the money back,
# credited when the customer repays from the wallet), a receivable.
CASH_PURPOSES = ("gateway_clearing",)
# Entry kinds whose cash movement is a chargeback, whatever the other accounts are
# (`wallet.payments.chargebacks`: a card chargeback and an ACH return take money back
# from the gateway, from the wallet and, for what it lacked, from the reserve).
CHARGEBACK_KINDS = ("chargeback", "ach_return")

# The order of the statements' lines: by type (asset to expense), then the customers'
# summed lines, the merchants', and the platform's own accounts, each by code.
_TYPE_ORDER = {t: n for n, t in enumerate(AccountType)}
_OWNER_ORDER = {"user": 0, "merchant": 1, "system": 2}


class InvalidPeriod(Refusal):
    """A statement period or date that makes no sense (the first day after the last,
    or past the calendar's end)."""

    code = "INVALID_PERIOD"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def end_of_day(day: date, field: str = "asOf") -> datetime:
    """The bound of a statement "as of `day`": the start of the next day, UTC (so the
    whole of `day` is in it)."""
    if day >= date.max:
        raise InvalidPeriod(field, "That date is past the end of the calendar")
    return datetime.combine(day + timedelta(days=1), time.min, UTC)


def period_of_days(first: date, last: date) -> tuple[datetime, datetime]:
    """[start, end) of the UTC days `first` to `last`, both included."""
    if first > last:
        raise InvalidPeriod("from", "The period starts after it ends")
    return datetime.combine(first, time.min, UTC), end_of_day(last, "to")


@dataclass(frozen=True, slots=True)
class Line:
    """One line of a statement: one of the platform's own accounts, or the customers'
    (or merchants') accounts of one purpose summed into one line, since there can be
    millions of them. The sums are exact either way."""

    code: str  # the account's code, or the pattern of the codes it sums: `user:*:USD:wallet`
    name: str
    account_type: AccountType
    accounts: int  # how many ledger accounts it sums
    debits: Money  # posted debits in the statement's window
    credits: Money

    @property
    def balance(self) -> Money:
        """Debits less credits, or credits less debits: on the normal side of its type."""
        side = self.account_type.normal_side
        amount = normal_balance(side, self.debits.amount_minor, self.credits.amount_minor)
        return Money(amount, self.debits.currency)


def _total(currency: Currency, amounts: list[Money]) -> Money:
    return sum(amounts, Money.zero(currency))


@dataclass(frozen=True, slots=True)
class Section:
    """Lines of one kind (assets, revenue...) and their total balance."""

    currency: Currency
    lines: tuple[Line, ...]

    @property
    def total(self) -> Money:
        return _total(self.currency, [line.balance for line in self.lines])


@dataclass(frozen=True, slots=True)
class TrialBalance:
    """Every account with postings before `as_of`: what was debited and credited to it
    and its balance. Total debits equal total credits when every entry balanced."""

    currency: Currency
    as_of: datetime
    lines: tuple[Line, ...]

    @property
    def total_debits(self) -> Money:
        return _total(self.currency, [line.debits for line in self.lines])

    @property
    def total_credits(self) -> Money:
        return _total(self.currency, [line.credits for line in self.lines])

    @property
    def balanced(self) -> bool:
        return self.total_debits == self.total_credits


RETAINED_EARNINGS = "retained_earnings"


@dataclass(frozen=True, slots=True)
class BalanceSheet:
    """Assets, liabilities and equity as of `as_of`. Equity ends with retained earnings,
    revenue less expenses from the first posting to `as_of` (the books are never
    closed into an equity account, so the sheet carries them), so that assets equal
    liabilities plus equity exactly."""

    currency: Currency
    as_of: datetime
    assets: Section
    liabilities: Section
    equity: Section  # the equity accounts, then the retained-earnings line

    @property
    def retained_earnings(self) -> Money:
        return next(line.balance for line in self.equity.lines if line.code == RETAINED_EARNINGS)

    @property
    def liabilities_and_equity(self) -> Money:
        return self.liabilities.total + self.equity.total

    @property
    def balances(self) -> bool:
        return self.assets.total == self.liabilities_and_equity


@dataclass(frozen=True, slots=True)
class ProfitAndLoss:
    """Revenue and expenses posted in [start, end), and what they leave."""

    currency: Currency
    start: datetime
    end: datetime
    revenue: Section
    expenses: Section

    @property
    def net_income(self) -> Money:
        return self.revenue.total - self.expenses.total


class CashFlowCategory(Enum):
    """What moved cash, told by the other side of the entry (first that applies):
    a chargeback entry; an FX account; revenue (fees); a customer's account; a
    merchant's account; anything else (escrow, unclaimed transfers, expenses...)."""

    CUSTOMER_FUNDS = "customer_funds"
    MERCHANTS = "merchants"
    FEES = "fees"
    FX = "fx"
    CHARGEBACKS = "chargebacks"
    OTHER = "other"

    @property
    def label(self) -> str:
        return _CATEGORY_LABELS[self]


_CATEGORY_LABELS = {
    CashFlowCategory.CUSTOMER_FUNDS: "Customer funds",
    CashFlowCategory.MERCHANTS: "Merchants",
    CashFlowCategory.FEES: "Fees",
    CashFlowCategory.FX: "FX",
    CashFlowCategory.CHARGEBACKS: "Chargebacks",
    CashFlowCategory.OTHER: "Other",
}


@dataclass(frozen=True, slots=True)
class CashFlowLine:
    """Cash in and out in one category: customer funds in (top-ups) and out
    (withdrawals), merchant receipts and payouts, and so on."""

    category: CashFlowCategory
    inflow: Money
    outflow: Money

    @property
    def net(self) -> Money:
        return self.inflow - self.outflow


@dataclass(frozen=True, slots=True)
class CashFlow:
    """Cash (`CASH_PURPOSES`) at `start`, what came in and went out in [start, end) by
    category (direct method), and cash at `end`. Opening and closing are summed from
    the cash accounts' postings, the flows from the other sides of their entries: the
    two meet only if every entry balanced, so `reconciles` is a real check."""

    currency: Currency
    start: datetime
    end: datetime
    opening: Money
    lines: tuple[CashFlowLine, ...]  # one per category, in the enum's order
    closing: Money

    @property
    def total_inflow(self) -> Money:
        return _total(self.currency, [line.inflow for line in self.lines])

    @property
    def total_outflow(self) -> Money:
        return _total(self.currency, [line.outflow for line in self.lines])

    @property
    def net_change(self) -> Money:
        return self.total_inflow - self.total_outflow

    @property
    def reconciles(self) -> bool:
        return self.opening + self.net_change == self.closing


# Lines: each of the platform's (system) accounts on its own; the customers' and the
# merchants' accounts summed per kind of purpose (`vault:17` is a `vault`). Postings
# are summed per account first, then per line, so the join to ledger_account is one
# row per account, not per posting.
_LINES = """
WITH moved AS (
    SELECT account_id,
           sum(amount) FILTER (WHERE side = 'D') AS debits,
           sum(amount) FILTER (WHERE side = 'C') AS credits
    FROM posting
    WHERE currency = $1 AND created_at >= $2 AND created_at < $3
    GROUP BY account_id
), placed AS (
    SELECT a.owner_type, a.account_type, m.debits, m.credits,
           CASE WHEN a.owner_type = 'system' THEN a.purpose
                ELSE split_part(a.purpose, ':', 1) END AS family,
           CASE WHEN a.owner_type = 'system' THEN a.code
                ELSE a.owner_type || ':*:' || a.currency || ':' || split_part(a.purpose, ':', 1)
                     || CASE WHEN strpos(a.purpose, ':') > 0 THEN ':*' ELSE '' END
           END AS code
    FROM moved m JOIN ledger_account a ON a.id = m.account_id
    WHERE a.account_type = ANY($4::text[])
)
SELECT code, owner_type, family, account_type, count(*) AS accounts,
       coalesce(sum(debits), 0)::bigint AS debits,
       coalesce(sum(credits), 0)::bigint AS credits
FROM placed
GROUP BY code, owner_type, family, account_type
"""

# Cash flow, in one statement: the cash accounts' postings up to `end` give the opening
# and closing balances; the entries among them in [start, end) are followed to their
# other postings in this currency, each classified and summed. A credit elsewhere is
# cash coming in (the customer's wallet is credited as the gateway account is debited),
# a debit elsewhere is cash going out. Rows: ('balances', NULL, opening, closing), then
# ('flow', category, inflow, outflow) for each category that moved.
_CASH_FLOW = r"""
WITH cash AS (
    SELECT id FROM ledger_account
    WHERE currency = $1 AND owner_type = 'system' AND account_type = 'asset'
      AND split_part(purpose, ':', 1) = ANY($4::text[])
), cash_moves AS (
    SELECT entry_id, created_at,
           CASE side WHEN 'D' THEN amount ELSE -amount END AS delta
    FROM posting
    WHERE account_id IN (SELECT id FROM cash) AND currency = $1 AND created_at < $3
), entries AS (
    SELECT DISTINCT entry_id FROM cash_moves WHERE created_at >= $2
), flows AS (
    SELECT CASE
               WHEN e.kind = ANY($5::text[]) THEN 'chargebacks'
               WHEN a.purpose LIKE 'fx\_%' THEN 'fx'
               WHEN a.account_type = 'revenue' THEN 'fees'
               WHEN a.owner_type = 'user' THEN 'customer_funds'
               WHEN a.owner_type = 'merchant' THEN 'merchants'
               ELSE 'other'
           END AS category,
           coalesce(sum(p.amount) FILTER (WHERE p.side = 'C'), 0)::bigint AS inflow,
           coalesce(sum(p.amount) FILTER (WHERE p.side = 'D'), 0)::bigint AS outflow
    FROM entries x
    JOIN journal_entry e ON e.id = x.entry_id
    JOIN posting p ON p.entry_id = x.entry_id AND p.currency = $1
    JOIN ledger_account a ON a.id = p.account_id
    WHERE p.account_id NOT IN (SELECT id FROM cash)
    GROUP BY 1
)
SELECT 'balances' AS part, NULL AS category,
       coalesce(sum(delta) FILTER (WHERE created_at < $2), 0)::bigint AS first,
       coalesce(sum(delta), 0)::bigint AS second
FROM cash_moves
UNION ALL
SELECT 'flow', category, inflow, outflow FROM flows
"""

# Names of the platform's accounts and of the summed lines; others are named from
# their purpose.
_SYSTEM_NAMES = {
    "gateway_clearing:sandbox": "Gateway clearing (sandbox)",
    "chargeback_reserve": "Chargeback reserve (owed by customers)",
    "fee_revenue": "Fee revenue",
    "fx_position": "FX position",
    "fx_spread_revenue": "FX spread revenue",
    "fx_rounding": "FX rounding",
    "unclaimed_transfers": "Unclaimed transfers",
    "buyer_protection_escrow": "Buyer protection escrow",
    "dispute_hold": "Disputed payments held",
    "promotional_funding": "Promotional credit",
    "rewards_expense": "Rewards (cashback and points)",
}
_GROUP_NAMES = {
    ("user", "wallet"): "Customer wallets",
    ("user", "vault"): "Customer savings vaults",
    ("user", "rewards_points"): "Customer reward points",
    ("merchant", "payable"): "Merchant balances",
}
_OWNER_WORDS = {"user": "Customer", "merchant": "Merchant"}


def _name(owner_type: str, family: str) -> str:
    if owner_type == "system":
        if family in _SYSTEM_NAMES:
            return _SYSTEM_NAMES[family]
        head, _, rest = family.partition(":")
        words = head.replace("_", " ").capitalize()
        return f"{words} ({rest})" if rest else words
    if (owner_type, family) in _GROUP_NAMES:
        return _GROUP_NAMES[(owner_type, family)]
    return f"{_OWNER_WORDS.get(owner_type, owner_type)} {family.replace('_', ' ')} accounts"


def _chart_order(line: Line) -> tuple[int, int, str]:
    owner = line.code.partition(":")[0]
    return _TYPE_ORDER[line.account_type], _OWNER_ORDER.get(owner, len(_OWNER_ORDER)), line.code


def _line(row: Any, currency: Currency) -> Line:
    return Line(
        code=row["code"],
        name=_name(row["owner_type"], row["family"]),
        account_type=AccountType(row["account_type"]),
        accounts=int(row["accounts"]),
        debits=Money(int(row["debits"]), currency),
        credits=Money(int(row["credits"]), currency),
    )


async def _lines(
    conn: Connection,
    currency: Currency,
    start: datetime | None,
    end: datetime,
    types: tuple[AccountType, ...] = tuple(AccountType),
) -> list[Line]:
    """The lines of postings in [start, end) to accounts of `types`, in chart order."""
    rows = await conn.fetch(
        _LINES,
        currency.value,
        start or datetime.min.replace(tzinfo=UTC),
        end,
        [t.value for t in types],
    )
    lines = [_line(r, currency) for r in rows]
    return sorted(lines, key=_chart_order)


def _of_type(lines: list[Line], *types: AccountType) -> tuple[Line, ...]:
    return tuple(line for line in lines if line.account_type in types)


async def trial_balance(conn: Connection, currency: Currency, as_of: datetime) -> TrialBalance:
    """Every account's debits, credits and balance from its postings before `as_of`."""
    return TrialBalance(currency, as_of, tuple(await _lines(conn, currency, None, as_of)))


async def balance_sheet(conn: Connection, currency: Currency, as_of: datetime) -> BalanceSheet:
    """The balance sheet from the postings before `as_of`."""
    lines = await _lines(conn, currency, None, as_of)
    earnings = _of_type(lines, AccountType.REVENUE, AccountType.EXPENSE)
    # Credit-normal like equity: its balance is credits less debits, revenue less expenses.
    retained = Line(
        code=RETAINED_EARNINGS,
        name="Retained earnings (revenue less expenses to date)",
        account_type=AccountType.EQUITY,
        accounts=sum(line.accounts for line in earnings),
        debits=_total(currency, [line.debits for line in earnings]),
        credits=_total(currency, [line.credits for line in earnings]),
    )
    return BalanceSheet(
        currency,
        as_of,
        assets=Section(currency, _of_type(lines, AccountType.ASSET)),
        liabilities=Section(currency, _of_type(lines, AccountType.LIABILITY)),
        equity=Section(currency, (*_of_type(lines, AccountType.EQUITY), retained)),
    )


async def profit_and_loss(
    conn: Connection, currency: Currency, start: datetime, end: datetime
) -> ProfitAndLoss:
    """Revenue and expense accounts' postings in [start, end)."""
    if start > end:
        raise InvalidPeriod("from", "The period starts after it ends")
    lines = await _lines(conn, currency, start, end, (AccountType.REVENUE, AccountType.EXPENSE))
    return ProfitAndLoss(
        currency,
        start,
        end,
        revenue=Section(currency, _of_type(lines, AccountType.REVENUE)),
        expenses=Section(currency, _of_type(lines, AccountType.EXPENSE)),
    )


async def cash_flow(
    conn: Connection, currency: Currency, start: datetime, end: datetime
) -> CashFlow:
    """Cash at `start`, its movements in [start, end) by category, cash at `end`."""
    if start > end:
        raise InvalidPeriod("from", "The period starts after it ends")
    rows = await conn.fetch(
        _CASH_FLOW, currency.value, start, end, list(CASH_PURPOSES), list(CHARGEBACK_KINDS)
    )
    (balances,) = [r for r in rows if r["part"] == "balances"]
    flows = {r["category"]: r for r in rows if r["part"] == "flow"}

    def moved(category: CashFlowCategory, column: str) -> Money:
        row = flows.get(category.value)
        return Money(0 if row is None else int(row[column]), currency)

    lines = tuple(
        CashFlowLine(category, inflow=moved(category, "first"), outflow=moved(category, "second"))
        for category in CashFlowCategory
    )
    return CashFlow(
        currency,
        start,
        end,
        opening=Money(int(balances["first"]), currency),
        lines=lines,
        closing=Money(int(balances["second"]), currency),
    )
