"""Financial statements as files for operators: CSV through the shared writer, PDF with
reportlab. Each file is one statement in one currency as `wallet.ledger.books` makes
it; the CSV and the PDF are drawn from the same rows, so they always agree.

CSV columns: statement, currency, from, to (an "as of" statement has no `from`, and
`to` is its day), section, code, name, account_type, accounts, debits, credits, amount
and amount_minor (integer minor units). Totals and results are rows of their own.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from wallet.db.engine import connection
from wallet.exports.csv_writer import csv_text
from wallet.ledger import books
from wallet.money import Currency, Money


class Statement(Enum):
    """The statements a file can hold, by the name in its URL."""

    TRIAL_BALANCE = "trial-balance"
    BALANCE_SHEET = "balance-sheet"
    PROFIT_AND_LOSS = "profit-and-loss"
    CASH_FLOW = "cash-flow"

    @property
    def title(self) -> str:
        return _TITLES[self]

    @property
    def as_of(self) -> bool:
        """Made as of a day (the others are for a period of days)."""
        return self in (Statement.TRIAL_BALANCE, Statement.BALANCE_SHEET)


_TITLES = {
    Statement.TRIAL_BALANCE: "Trial balance",
    Statement.BALANCE_SHEET: "Balance sheet",
    Statement.PROFIT_AND_LOSS: "Profit and loss",
    Statement.CASH_FLOW: "Cash-flow statement",
}

CSV_COLUMNS = (
    "statement",
    "currency",
    "from",
    "to",
    "section",
    "code",
    "name",
    "account_type",
    "accounts",
    "debits",
    "credits",
    "amount",
    "amount_minor",
)


@dataclass(frozen=True, slots=True)
class Row:
    section: str
    name: str
    amount: Money | None = None
    code: str = ""
    account_type: str = ""
    accounts: int | None = None
    debits: Money | None = None
    credits: Money | None = None
    total: bool = False  # a total or a result (bold in the PDF)


@dataclass(frozen=True, slots=True)
class Document:
    statement: Statement
    currency: Currency
    first: date | None  # None for a statement as of a day
    last: date
    rows: list[Row] = field(default_factory=list)
    checks: list[tuple[str, bool]] = field(default_factory=list)

    @property
    def filename_stem(self) -> str:
        days = f"{self.last}" if self.first is None else f"{self.first}-{self.last}"
        return f"{self.statement.value}-{self.currency.value}-{days}"


def _account_rows(section: str, lines: tuple[books.Line, ...]) -> list[Row]:
    return [
        Row(
            section,
            line.name,
            line.balance,
            code=line.code,
            account_type=line.account_type.value,
            accounts=line.accounts,
            debits=line.debits,
            credits=line.credits,
        )
        for line in lines
    ]


def _section(section: str, label: str, part: books.Section) -> list[Row]:
    return [
        *_account_rows(section, part.lines),
        Row(section, f"Total {label}", part.total, total=True),
    ]


Checks = list[tuple[str, bool]]


def trial_balance_rows(tb: books.TrialBalance) -> tuple[list[Row], Checks]:
    rows = _account_rows("accounts", tb.lines)
    rows.append(
        Row("total", "Total", None, debits=tb.total_debits, credits=tb.total_credits, total=True)
    )
    return rows, [("Total debits equal total credits", tb.balanced)]


def balance_sheet_rows(sheet: books.BalanceSheet) -> tuple[list[Row], Checks]:
    rows = [
        *_section("assets", "assets", sheet.assets),
        *_section("liabilities", "liabilities", sheet.liabilities),
        *_section("equity", "equity", sheet.equity),
        Row("total", "Total liabilities and equity", sheet.liabilities_and_equity, total=True),
    ]
    return rows, [("Assets equal liabilities plus equity", sheet.balances)]


def profit_and_loss_rows(pnl: books.ProfitAndLoss) -> tuple[list[Row], Checks]:
    rows = [
        *_section("revenue", "revenue", pnl.revenue),
        *_section("expenses", "expenses", pnl.expenses),
        Row("result", "Net income", pnl.net_income, total=True),
    ]
    return rows, []


def cash_flow_rows(flow: books.CashFlow) -> tuple[list[Row], Checks]:
    """Opening cash, every category in and out (outflows negative), closing cash."""
    rows = [Row("opening", "Opening cash", flow.opening, total=True)]
    rows += [
        Row("inflows", f"{line.category.label} in", line.inflow, code=line.category.value)
        for line in flow.lines
    ]
    rows.append(Row("inflows", "Total cash in", flow.total_inflow, total=True))
    rows += [
        Row("outflows", f"{line.category.label} out", -line.outflow, code=line.category.value)
        for line in flow.lines
    ]
    rows += [
        Row("outflows", "Total cash out", -flow.total_outflow, total=True),
        Row("result", "Net change in cash", flow.net_change, total=True),
        Row("closing", "Closing cash", flow.closing, total=True),
    ]
    return rows, [("Opening cash plus net change equals closing cash", flow.reconciles)]


async def document(statement: Statement, currency: Currency, first: date, last: date) -> Document:
    """The statement as rows: as of the end of `last` (trial balance, balance sheet),
    or for the days `first` to `last` (the others). Raises `books.InvalidPeriod`."""
    async with connection() as conn:
        if statement is Statement.TRIAL_BALANCE:
            cutoff = books.end_of_day(last, "asOf")
            made = trial_balance_rows(await books.trial_balance(conn, currency, cutoff))
        elif statement is Statement.BALANCE_SHEET:
            cutoff = books.end_of_day(last, "asOf")
            made = balance_sheet_rows(await books.balance_sheet(conn, currency, cutoff))
        else:
            start, end = books.period_of_days(first, last)
            if statement is Statement.PROFIT_AND_LOSS:
                made = profit_and_loss_rows(await books.profit_and_loss(conn, currency, start, end))
            else:
                made = cash_flow_rows(await books.cash_flow(conn, currency, start, end))
    rows, checks = made
    return Document(statement, currency, None if statement.as_of else first, last, rows, checks)


def _decimal(money: Money | None) -> str:
    return "" if money is None else money.format()


def as_csv(doc: Document) -> str:
    return csv_text(
        CSV_COLUMNS,
        (
            [
                doc.statement.value,
                doc.currency.value,
                "" if doc.first is None else doc.first.isoformat(),
                doc.last.isoformat(),
                row.section,
                row.code,
                row.name,
                row.account_type,
                row.accounts,
                _decimal(row.debits),
                _decimal(row.credits),
                _decimal(row.amount),
                None if row.amount is None else row.amount.amount_minor,
            ]
            for row in doc.rows
        ),
    )


def as_pdf(doc: Document) -> bytes:
    styles = getSampleStyleSheet()
    buffer = io.BytesIO()
    period = (
        f"as of the end of {doc.last:%d %b %Y} (UTC)"
        if doc.first is None
        else f"{doc.first:%d %b %Y} to {doc.last:%d %b %Y} (UTC days, both included)"
    )
    pdf = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        title=f"{doc.statement.title} {doc.currency.value}",
        pageCompression=0,  # plain text streams: searchable by any tool, still small
        author="Wallet",
    )
    with_turnover = doc.statement is Statement.TRIAL_BALANCE
    header = ["Account", "Debits", "Credits", "Balance"] if with_turnover else ["", "Amount"]
    rows: list[list[object]] = [list(header)]
    bold: list[int] = []
    section = None
    for row in doc.rows:
        if row.section != section and not row.total:
            section = row.section
            if not with_turnover:
                rows.append([section.capitalize(), ""])
                bold.append(len(rows) - 1)
        name = row.name if row.accounts in (None, 1) else f"{row.name} ({row.accounts} accounts)"
        amount = _decimal(row.amount)
        rows.append(
            [name, _decimal(row.debits), _decimal(row.credits), amount]
            if with_turnover
            else [name, amount]
        )
        if row.total:
            bold.append(len(rows) - 1)
    widths = [94 * mm, 26 * mm, 26 * mm, 26 * mm] if with_turnover else [130 * mm, 42 * mm]
    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
                ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.grey),
                ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
                *(("FONTNAME", (0, r), (-1, r), "Helvetica-Bold") for r in bold),
            ]
        )
    )
    story: list[Flowable] = [
        Paragraph(escape(f"{doc.statement.title} · {doc.currency.value}"), styles["Title"]),
        Paragraph(escape(period), styles["Normal"]),
        Spacer(1, 6 * mm),
        table,
        Spacer(1, 4 * mm),
    ]
    story += [
        Paragraph(escape(f"{label}: {'yes' if ok else 'NO'}"), styles["Normal"])
        for label, ok in doc.checks
    ]
    story.append(
        Paragraph(
            escape(
                f"Computed from the ledger's postings, in {doc.currency.value} only (no "
                "currency is translated into another). Customer and merchant accounts are "
                "summed into one line each per purpose."
            ),
            styles["Italic"],
        )
    )
    pdf.build(story)
    return buffer.getvalue()
