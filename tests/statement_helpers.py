"""Reading statements as their holder would: the CSV's sections, the PDF's text, the
arithmetic a reader does by hand, and the digest recomputed from the rows held."""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

VERIFY = """query($input: VerifyStatementInput!) { verifyStatement(input: $input) {
  __typename
  ... on StatementVerified { currency from to position digest opening closing rows credits debits }
  ... on UserError { code message }
  ... on ValidationError { fieldErrors { field code } } } }"""

ACTIVITY = """query($first: Int!, $after: String, $filter: TransactionFilter) {
  activity(first: $first, after: $after, filter: $filter) {
    edges { cursor node { booked at direction amount currency balanceAfter position description
                          transaction { id type status } } }
    pageInfo { hasNextPage endCursor } } }"""


def csv_rows(body: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body)))


def running_balances_add_up(rows: list[dict[str, str]]) -> list[str]:
    """What a reader checks down each currency's column of running balances, in file
    order: every balance is the one before plus the row's amount (a line with no amount,
    an opening or closing balance, repeats it). Returns the lines where it does not."""
    previous: dict[str, Decimal] = {}
    wrong = []
    for n, row in enumerate(rows):
        if not row.get("running_balance"):
            continue
        currency = row.get("currency", "")
        balance = Decimal(row["running_balance"])
        amount = Decimal(row["amount"]) if row.get("amount") else Decimal(0)
        if currency in previous and previous[currency] + amount != balance:
            wrong.append(f"line {n + 2}: {previous[currency]} + {amount} != {balance}")
        previous[currency] = balance
    return wrong


@dataclass
class CsvStatement:
    account: str
    currency: str
    period_from: str
    period_to: str
    position: int
    opening: str
    postings: list[dict[str, str]]
    closing: str
    digest: str
    pending: list[dict[str, str]]

    def canonical(self) -> str:
        """The canonical text (docs/ledger.md, "Verifying a statement") from the rows."""
        lines = [
            "wallet statement 1",
            f"account {self.account}",
            f"currency {self.currency}",
            f"period {self.period_from} {self.period_to}",
            f"position {self.position}",
            f"opening {self.opening}",
            *(
                f"{p['position']} {p['posted_at']} {p['amount']} {p['running_balance']}"
                for p in self.postings
            ),
            f"closing {self.closing}",
        ]
        return "".join(line + "\n" for line in lines)

    def recomputed_digest(self) -> str:
        return hashlib.sha256(self.canonical().encode()).hexdigest()

    def verify_input(self, digest: str | None = None) -> dict[str, object]:
        return {
            "input": {
                "currency": self.currency,
                "from": self.period_from,
                "to": self.period_to,
                "position": self.position,
                "digest": digest or self.recomputed_digest(),
            }
        }


def csv_statements(body: str) -> dict[str, CsvStatement]:
    """Each currency's statement in a CSV export."""
    by_currency: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in csv_rows(body):
        by_currency[row["currency"]].append(row)
    found = {}
    for currency, rows in by_currency.items():
        (opening,) = [r for r in rows if r["line"] == "opening"]
        (closing,) = [r for r in rows if r["line"] == "closing"]
        found[currency] = CsvStatement(
            account=opening["account"],
            currency=currency,
            period_from=opening["period_from"],
            period_to=opening["period_to"],
            position=int(closing["position"]),
            opening=opening["running_balance"],
            postings=[r for r in rows if r["line"] == "posting"],
            closing=closing["running_balance"],
            digest=closing["digest"],
            pending=[r for r in rows if r["line"] == "pending"],
        )
    return found


_TJ = re.compile(rb"\(((?:\\.|[^\\)])*)\) Tj")
_AMOUNT = re.compile(r"[+-]?\d+(\.\d+)?")


def pdf_texts(pdf: bytes) -> list[str]:
    """The strings drawn on the pages of an uncompressed PDF, in drawing order."""
    texts = []
    for raw in _TJ.findall(pdf):
        text = re.sub(rb"\\(.)", rb"\1", raw)
        texts.append(text.decode("latin-1"))
    return texts


@dataclass
class PdfSection:
    currency: str
    opening: Decimal
    rows: list[tuple[Decimal, Decimal]]  # (amount, balance after)
    closing: Decimal
    texts: list[str]


def pdf_sections(pdf: bytes) -> dict[str, PdfSection]:
    """Each currency's table in a PDF statement: the opening, the (amount, balance)
    pairs of its rows, the closing."""
    texts = pdf_texts(pdf)
    sections = {}
    heads = [i for i, t in enumerate(texts) if re.fullmatch(r"[A-Z]{3} balance", t)]
    for n, head in enumerate(heads):
        part = texts[head : heads[n + 1] if n + 1 < len(heads) else len(texts)]
        opened = part.index("Opening balance")
        closed = part.index("Closing balance")
        numbers = [Decimal(t) for t in part[opened + 2 : closed] if _AMOUNT.fullmatch(t)]
        sections[part[0][:3]] = PdfSection(
            currency=part[0][:3],
            opening=Decimal(part[opened + 1]),
            rows=list(zip(numbers[0::2], numbers[1::2], strict=True)),
            closing=Decimal(part[closed + 1]),
            texts=part,
        )
    return sections


def section_adds_up(section: PdfSection) -> bool:
    running = section.opening
    for amount, balance in section.rows:
        running += amount
        if running != balance:
            return False
    return running == section.closing
