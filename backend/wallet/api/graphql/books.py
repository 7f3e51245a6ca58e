"""GraphQL surface of the financial statements (`wallet.ledger.books`), for operators:
trial balance, balance sheet, profit and loss, cash flow, each in one currency.

Anyone without a ledger-reading operator role gets null (the resolver never runs); bad
input (an unknown currency, a period that ends before it starts) is a `ValidationError`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Annotated, Any

import strawberry
from strawberry.extensions import FieldExtension

from wallet.api.graphql.context import Info
from wallet.api.graphql.errors import ValidationError, validation_error
from wallet.api.graphql.operators import LEDGER_READERS, operator_in
from wallet.db.engine import read_connection
from wallet.errors import Refusal
from wallet.ledger import books
from wallet.ledger.models import AccountType
from wallet.money import Currency, Money, UnknownCurrency

# The books are the ledger read whole: the roles that read the ledger read them.
BOOK_READERS = LEDGER_READERS

LedgerAccountType = strawberry.enum(AccountType, name="LedgerAccountType")
CashFlowCategory = strawberry.enum(
    books.CashFlowCategory,
    name="CashFlowCategory",
    description="What moved cash, told by the other side of its journal entry (docs/"
    "operations.md, Financial statements).",
)


class OperatorsOnly(FieldExtension):
    """Only these operator roles read the field: anyone else gets null, and the
    resolver never runs (as `ledgerCheck` and `chartOfAccounts` answer)."""

    def __init__(self, roles: tuple[str, ...]) -> None:
        self.roles = roles

    async def resolve_async(
        self, next_: Callable[..., Awaitable[Any]], source: Any, info: Info, **kwargs: Any
    ) -> Any:
        if await operator_in(info, self.roles) is None:
            return None
        return await next_(source, info, **kwargs)


@strawberry.type(description="An amount in the statement's currency.")
class LedgerAmount:
    amount: str = strawberry.field(
        description='A decimal with the currency\'s digits, e.g. "1234.56" or "-2.50".'
    )
    minor: str = strawberry.field(
        description='The same in integer minor units, e.g. "123456": a string, since '
        "totals outgrow GraphQL's 32-bit Int."
    )

    @classmethod
    def of(cls, money: Money) -> LedgerAmount:
        return cls(amount=money.format(), minor=str(money.amount_minor))


@strawberry.type(
    description="One line of a statement: one of the platform's accounts, or the customers' "
    "(or merchants') accounts of one purpose summed into one line."
)
class FinancialStatementLine:
    code: str = strawberry.field(
        description="The account's code, or the pattern of the codes the line sums "
        '(e.g. "user:*:USD:wallet").'
    )
    name: str
    account_type: LedgerAccountType  # type: ignore[valid-type]
    accounts: int = strawberry.field(description="How many ledger accounts the line sums.")
    debits: LedgerAmount = strawberry.field(description="Posted debits in the window.")
    credits: LedgerAmount = strawberry.field(description="Posted credits in the window.")
    balance: LedgerAmount = strawberry.field(
        description="On the normal side of its type: debits less credits for assets and "
        "expenses, credits less debits for the others."
    )

    @classmethod
    def of(cls, line: books.Line) -> FinancialStatementLine:
        return cls(
            code=line.code,
            name=line.name,
            account_type=line.account_type,
            accounts=line.accounts,
            debits=LedgerAmount.of(line.debits),
            credits=LedgerAmount.of(line.credits),
            balance=LedgerAmount.of(line.balance),
        )


def _lines(lines: tuple[books.Line, ...]) -> list[FinancialStatementLine]:
    return [FinancialStatementLine.of(line) for line in lines]


@strawberry.type(description="Lines of one kind and the total of their balances.")
class FinancialStatementSection:
    lines: list[FinancialStatementLine]
    total: LedgerAmount

    @classmethod
    def of(cls, section: books.Section) -> FinancialStatementSection:
        return cls(lines=_lines(section.lines), total=LedgerAmount.of(section.total))


@strawberry.type(
    description="Every account with postings up to the end of `asOf` (UTC): its debits, "
    "credits and balance. Computed from the postings, in one currency."
)
class TrialBalance:
    currency: str
    as_of: date
    cutoff: datetime = strawberry.field(description="Postings before this instant count.")
    lines: list[FinancialStatementLine]
    total_debits: LedgerAmount
    total_credits: LedgerAmount
    balanced: bool = strawberry.field(description="Total debits equal total credits.")

    @classmethod
    def of(cls, tb: books.TrialBalance, day: date) -> TrialBalance:
        return cls(
            currency=tb.currency.value,
            as_of=day,
            cutoff=tb.as_of,
            lines=_lines(tb.lines),
            total_debits=LedgerAmount.of(tb.total_debits),
            total_credits=LedgerAmount.of(tb.total_credits),
            balanced=tb.balanced,
        )


@strawberry.type(
    description="Assets, liabilities and equity at the end of `asOf` (UTC), from the "
    "postings up to then (not today's balances), in one currency. Equity ends with "
    "retained earnings: revenue less expenses to date."
)
class BalanceSheet:
    currency: str
    as_of: date
    cutoff: datetime = strawberry.field(description="Postings before this instant count.")
    assets: FinancialStatementSection
    liabilities: FinancialStatementSection
    equity: FinancialStatementSection
    retained_earnings: LedgerAmount
    liabilities_and_equity: LedgerAmount
    balances: bool = strawberry.field(description="Assets equal liabilities plus equity.")

    @classmethod
    def of(cls, sheet: books.BalanceSheet, day: date) -> BalanceSheet:
        return cls(
            currency=sheet.currency.value,
            as_of=day,
            cutoff=sheet.as_of,
            assets=FinancialStatementSection.of(sheet.assets),
            liabilities=FinancialStatementSection.of(sheet.liabilities),
            equity=FinancialStatementSection.of(sheet.equity),
            retained_earnings=LedgerAmount.of(sheet.retained_earnings),
            liabilities_and_equity=LedgerAmount.of(sheet.liabilities_and_equity),
            balances=sheet.balances,
        )


@strawberry.type(
    description="Revenue and expenses posted from the start of `from` to the end of `to` "
    "(UTC days, both included), in one currency."
)
class ProfitAndLoss:
    currency: str
    from_: date = strawberry.field(name="from")
    to: date
    revenue: FinancialStatementSection
    expenses: FinancialStatementSection
    net_income: LedgerAmount = strawberry.field(description="Revenue less expenses.")

    @classmethod
    def of(cls, pnl: books.ProfitAndLoss, first: date, last: date) -> ProfitAndLoss:
        return cls(
            currency=pnl.currency.value,
            from_=first,
            to=last,
            revenue=FinancialStatementSection.of(pnl.revenue),
            expenses=FinancialStatementSection.of(pnl.expenses),
            net_income=LedgerAmount.of(pnl.net_income),
        )


@strawberry.type(description="Cash in and out in one category.")
class CashFlowLine:
    category: CashFlowCategory  # type: ignore[valid-type]
    name: str
    inflow: LedgerAmount
    outflow: LedgerAmount
    net: LedgerAmount

    @classmethod
    def of(cls, line: books.CashFlowLine) -> CashFlowLine:
        return cls(
            category=line.category,
            name=line.category.label,
            inflow=LedgerAmount.of(line.inflow),
            outflow=LedgerAmount.of(line.outflow),
            net=LedgerAmount.of(line.net),
        )


@strawberry.type(
    description="Cash (the gateway clearing accounts) at the start of `from`, what came in "
    "and went out by category until the end of `to` (UTC days, both included), and cash "
    "then; in one currency."
)
class CashFlowStatement:
    currency: str
    from_: date = strawberry.field(name="from")
    to: date
    opening: LedgerAmount
    lines: list[CashFlowLine] = strawberry.field(description="Every category, in order.")
    total_inflow: LedgerAmount
    total_outflow: LedgerAmount
    net_change: LedgerAmount
    closing: LedgerAmount
    reconciles: bool = strawberry.field(description="Opening plus net change is closing.")

    @classmethod
    def of(cls, flow: books.CashFlow, first: date, last: date) -> CashFlowStatement:
        return cls(
            currency=flow.currency.value,
            from_=first,
            to=last,
            opening=LedgerAmount.of(flow.opening),
            lines=[CashFlowLine.of(line) for line in flow.lines],
            total_inflow=LedgerAmount.of(flow.total_inflow),
            total_outflow=LedgerAmount.of(flow.total_outflow),
            net_change=LedgerAmount.of(flow.net_change),
            closing=LedgerAmount.of(flow.closing),
            reconciles=flow.reconciles,
        )


TrialBalanceResult = Annotated[
    TrialBalance | ValidationError, strawberry.union("TrialBalanceResult")
]
BalanceSheetResult = Annotated[
    BalanceSheet | ValidationError, strawberry.union("BalanceSheetResult")
]
ProfitAndLossResult = Annotated[
    ProfitAndLoss | ValidationError, strawberry.union("ProfitAndLossResult")
]
CashFlowResult = Annotated[CashFlowStatement | ValidationError, strawberry.union("CashFlowResult")]

From = Annotated[date, strawberry.argument(name="from", description="The first UTC day.")]
To = Annotated[date, strawberry.argument(description="The last UTC day (included).")]
AsOf = Annotated[date, strawberry.argument(description="The UTC day whose end it is as of.")]


def invalid(exc: Refusal) -> ValidationError:
    """The validation error for a currency or period the statements refuse."""
    if isinstance(exc, UnknownCurrency):
        return validation_error("currency", "UNKNOWN_CURRENCY", "Not a currency we hold")
    return validation_error(exc.field, exc.code, exc.message)


@strawberry.type
class BooksQuery:
    @strawberry.field(
        description="Operators: the trial balance as of a day (null otherwise).",
        extensions=[OperatorsOnly(BOOK_READERS)],
    )
    async def trial_balance(self, currency: str, as_of: AsOf) -> TrialBalanceResult | None:
        try:
            which, cutoff = Currency.parse(currency), books.end_of_day(as_of)
        except Refusal as exc:
            return invalid(exc)
        async with read_connection() as conn:
            return TrialBalance.of(await books.trial_balance(conn, which, cutoff), as_of)

    @strawberry.field(
        description="Operators: the balance sheet as of a day (null otherwise).",
        extensions=[OperatorsOnly(BOOK_READERS)],
    )
    async def balance_sheet(self, currency: str, as_of: AsOf) -> BalanceSheetResult | None:
        try:
            which, cutoff = Currency.parse(currency), books.end_of_day(as_of)
        except Refusal as exc:
            return invalid(exc)
        async with read_connection() as conn:
            return BalanceSheet.of(await books.balance_sheet(conn, which, cutoff), as_of)

    @strawberry.field(
        description="Operators: profit and loss for a period of days (null otherwise).",
        extensions=[OperatorsOnly(BOOK_READERS)],
    )
    async def profit_and_loss(
        self, currency: str, from_: From, to: To
    ) -> ProfitAndLossResult | None:
        try:
            which, (start, end) = Currency.parse(currency), books.period_of_days(from_, to)
        except Refusal as exc:
            return invalid(exc)
        async with read_connection() as conn:
            pnl = await books.profit_and_loss(conn, which, start, end)
        return ProfitAndLoss.of(pnl, from_, to)

    @strawberry.field(
        description="Operators: the cash-flow statement for a period of days (null otherwise).",
        extensions=[OperatorsOnly(BOOK_READERS)],
    )
    async def cash_flow(self, currency: str, from_: From, to: To) -> CashFlowResult | None:
        try:
            which, (start, end) = Currency.parse(currency), books.period_of_days(from_, to)
        except Refusal as exc:
            return invalid(exc)
        async with read_connection() as conn:
            flow = await books.cash_flow(conn, which, start, end)
        return CashFlowStatement.of(flow, from_, to)
