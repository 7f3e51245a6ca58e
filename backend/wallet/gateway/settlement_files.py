"""The two files the outside world sends every day, in their real formats.

- The **processor's settlement file**: CSV, one row per card movement settled that day
  (`charge` in, `chargeback` out), with the batch id the processor pays out under.
- The **bank statement** of the safeguarding account: ISO 20022 **camt.053** (BankToCustomer
  Statement, version 001.08), one `Stmt` per currency with its opening (OPBD) and closing
  (CLBD) booked balances and an `Ntry` per booked movement: ACH debits collected, payouts
  sent, and the processor's daily batch (its net, one line).

camt.053 was chosen over BAI2 because it is what banks in the ISO 20022 migration send
(SEPA, CHAPS, Fedwire from 2025), it carries the currency and the end-to-end reference
per entry, and it parses with a plain XML parser (defused here: files come from outside).

The sandbox gateway writes both (`wallet.gateway.sandbox`); reconciliation reads them.
Amounts are integer minor units in memory and decimal strings in the files.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from xml.etree.ElementTree import Element, SubElement, tostring

from defusedxml.ElementTree import fromstring

from wallet.money import Currency, Money, MoneyError

CAMT053_NS = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"
CSV_COLUMNS = (
    "batch_id",
    "settlement_date",
    "type",
    "reference",
    "currency",
    "amount",
    "counterparty",
)
# Which way each kind of line moves money, seen from the platform: C in, D out.
DIRECTIONS = {
    "charge": "C",
    "chargeback": "D",
    "ach_debit": "C",
    "payout": "D",
    "processor_settlement": "C",
}
PROCESSOR_KINDS = ("charge", "chargeback")
BANK_KINDS = ("ach_debit", "payout", "processor_settlement")


class SettlementFileError(ValueError):
    """The file is not a settlement file this platform can read."""


@dataclass(frozen=True, slots=True)
class Line:
    kind: str
    reference: str
    booked_on: date
    amount: int  # minor units, > 0
    currency: Currency
    counterparty: str = ""

    @property
    def direction(self) -> str:
        return DIRECTIONS[self.kind]

    @property
    def signed(self) -> int:
        return self.amount if self.direction == "C" else -self.amount


@dataclass(frozen=True, slots=True)
class Balances:
    opening: int
    closing: int


@dataclass(frozen=True, slots=True)
class SettlementFile:
    source: str  # processor | bank
    format: str  # csv | camt.053
    business_date: date
    lines: tuple[Line, ...]
    # The bank statement's booked balances per currency (none for the processor file).
    balances: dict[Currency, Balances] = field(default_factory=dict)


def batch_id(on: date) -> str:
    return f"PSET-{on:%Y%m%d}"


def _decimal(amount: int, currency: Currency) -> str:
    return Money(amount, currency).format().replace(",", "")


def _minor(text: str, currency: Currency) -> int:
    try:
        return Money.parse(text.strip(), currency).amount_minor
    except MoneyError as exc:
        raise SettlementFileError(f"bad amount {text!r}: {exc}") from None


def _currency(code: str) -> Currency:
    try:
        return Currency(code.strip())
    except ValueError:
        raise SettlementFileError(f"unknown currency {code!r}") from None


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise SettlementFileError(f"bad date {text!r}") from None


# --- the processor's CSV -------------------------------------------------------------


def write_processor_csv(on: date, lines: list[Line]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for line in lines:
        writer.writerow(
            (
                batch_id(on),
                on.isoformat(),
                line.kind,
                line.reference,
                line.currency.value,
                _decimal(line.amount, line.currency),
                line.counterparty,
            )
        )
    return out.getvalue().encode()


def read_processor_csv(content: bytes, on: date) -> SettlementFile:
    """The file the processor sent for `on` (a day without card movements has only the
    header, so the day comes from the fetch; rows naming another day are refused)."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SettlementFileError("not UTF-8 text") from None
    rows = list(csv.DictReader(io.StringIO(text)))
    header = tuple(csv.reader(io.StringIO(text.split("\n", 1)[0]))) if text else ()
    if not header or tuple(header[0]) != CSV_COLUMNS:
        raise SettlementFileError(f"expected the columns {', '.join(CSV_COLUMNS)}")
    if any(_day(r["settlement_date"]) != on for r in rows):
        raise SettlementFileError(f"this file is not the settlement of {on}")
    lines = []
    for r in rows:
        kind = r["type"].strip()
        if kind not in PROCESSOR_KINDS:
            raise SettlementFileError(f"unknown type {kind!r}")
        currency = _currency(r["currency"])
        amount = _minor(r["amount"], currency)
        if amount <= 0:
            raise SettlementFileError("amounts are positive; the type gives the direction")
        lines.append(
            Line(
                kind,
                r["reference"].strip(),
                on,
                amount,
                currency,
                r["counterparty"].strip(),
            )
        )
    return SettlementFile("processor", "csv", on, tuple(lines))


# --- the bank's camt.053 -------------------------------------------------------------


def _text(parent: Element, tag: str, value: str) -> Element:
    child = SubElement(parent, tag)
    child.text = value
    return child


def _amount(parent: Element, amount: int, currency: Currency) -> None:
    SubElement(parent, "Amt", Ccy=currency.value).text = _decimal(abs(amount), currency)
    _text(parent, "CdtDbtInd", "CRDT" if amount >= 0 else "DBIT")


def write_camt053(
    on: date, account: str, lines: list[Line], balances: dict[Currency, Balances]
) -> bytes:
    """One statement per currency in `balances`, its lines in file order."""
    doc = Element("Document", xmlns=CAMT053_NS)
    root = SubElement(doc, "BkToCstmrStmt")
    header = SubElement(root, "GrpHdr")
    end = datetime.combine(on + timedelta(days=1), time())
    _text(header, "MsgId", f"STMT-{on:%Y%m%d}")
    _text(header, "CreDtTm", end.isoformat())
    for currency, balance in sorted(balances.items(), key=lambda kv: kv[0].value):
        stmt = SubElement(root, "Stmt")
        _text(stmt, "Id", f"STMT-{on:%Y%m%d}-{currency.value}")
        _text(stmt, "CreDtTm", end.isoformat())
        period = SubElement(stmt, "FrToDt")
        _text(period, "FrDtTm", datetime.combine(on, time()).isoformat())
        _text(period, "ToDtTm", end.isoformat())
        acct = SubElement(stmt, "Acct")
        _text(SubElement(SubElement(acct, "Id"), "Othr"), "Id", f"{account}-{currency.value}")
        _text(acct, "Ccy", currency.value)
        _text(acct, "Nm", "Wallet customer funds safeguarding account")
        for code, amount in (("OPBD", balance.opening), ("CLBD", balance.closing)):
            bal = SubElement(stmt, "Bal")
            _text(SubElement(SubElement(bal, "Tp"), "CdOrPrtry"), "Cd", code)
            _amount(bal, amount, currency)
            _text(SubElement(bal, "Dt"), "Dt", on.isoformat())
        for n, line in enumerate(x for x in lines if x.currency is currency):
            entry = SubElement(stmt, "Ntry")
            _text(entry, "NtryRef", f"{on:%Y%m%d}-{currency.value}-{n + 1}")
            _amount(entry, line.signed, currency)
            _text(SubElement(entry, "Sts"), "Cd", "BOOK")
            _text(SubElement(entry, "BookgDt"), "Dt", line.booked_on.isoformat())
            _text(SubElement(entry, "ValDt"), "Dt", line.booked_on.isoformat())
            proprietary = SubElement(SubElement(entry, "BkTxCd"), "Prtry")
            _text(proprietary, "Cd", line.kind)
            _text(proprietary, "Issr", "SANDBOX")
            details = SubElement(SubElement(entry, "NtryDtls"), "TxDtls")
            _text(SubElement(details, "Refs"), "EndToEndId", line.reference or "NOTPROVIDED")
            party = "Dbtr" if line.direction == "C" else "Cdtr"
            related = SubElement(SubElement(details, "RltdPties"), party)
            _text(SubElement(related, "Pty"), "Nm", line.counterparty or "NOTPROVIDED")
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + tostring(doc, encoding="unicode").encode()


def _find(node: Element, path: str) -> Element:
    found = node.find(path, {"c": CAMT053_NS})
    if found is None or found.text is None:
        raise SettlementFileError(f"camt.053: missing {path.replace('c:', '')}")
    return found


def _signed(node: Element, currency: Currency) -> int:
    amount = _minor(_find(node, "c:Amt").text or "", currency)
    indicator = _find(node, "c:CdtDbtInd").text
    if indicator not in ("CRDT", "DBIT"):
        raise SettlementFileError(f"camt.053: CdtDbtInd {indicator!r}")
    return amount if indicator == "CRDT" else -amount


def read_camt053(content: bytes) -> SettlementFile:
    try:
        root = fromstring(content)
    except Exception as exc:  # defusedxml raises several kinds; all mean "not this file"
        raise SettlementFileError(f"not camt.053 XML: {exc}") from None
    if root.tag != f"{{{CAMT053_NS}}}Document":
        raise SettlementFileError("not a camt.053.001.08 document")
    lines: list[Line] = []
    balances: dict[Currency, Balances] = {}
    days: set[date] = set()
    for stmt in root.iterfind("c:BkToCstmrStmt/c:Stmt", {"c": CAMT053_NS}):
        currency = _currency(_find(stmt, "c:Acct/c:Ccy").text or "")
        found: dict[str, int] = {}
        for bal in stmt.iterfind("c:Bal", {"c": CAMT053_NS}):
            found[_find(bal, "c:Tp/c:CdOrPrtry/c:Cd").text or ""] = _signed(bal, currency)
            days.add(_day(_find(bal, "c:Dt/c:Dt").text or ""))
        if "OPBD" not in found or "CLBD" not in found:
            raise SettlementFileError("camt.053: a statement needs OPBD and CLBD balances")
        balances[currency] = Balances(found["OPBD"], found["CLBD"])
        for entry in stmt.iterfind("c:Ntry", {"c": CAMT053_NS}):
            signed = _signed(entry, currency)
            kind = _find(entry, "c:BkTxCd/c:Prtry/c:Cd").text or ""
            if kind not in BANK_KINDS:
                raise SettlementFileError(f"camt.053: unknown transaction code {kind!r}")
            if (signed > 0) != (DIRECTIONS[kind] == "C"):
                raise SettlementFileError(f"camt.053: a {kind} cannot go that way")
            reference = _find(entry, "c:NtryDtls/c:TxDtls/c:Refs/c:EndToEndId").text or ""
            party = entry.find("c:NtryDtls/c:TxDtls/c:RltdPties/*/c:Pty/c:Nm", {"c": CAMT053_NS})
            counterparty = party.text if party is not None and party.text else ""
            lines.append(
                Line(
                    kind,
                    "" if reference == "NOTPROVIDED" else reference,
                    _day(_find(entry, "c:BookgDt/c:Dt").text or ""),
                    abs(signed),
                    currency,
                    "" if counterparty == "NOTPROVIDED" else counterparty,
                )
            )
    if len(days) != 1:
        raise SettlementFileError("camt.053: one statement date per file")
    return SettlementFile("bank", "camt.053", days.pop(), tuple(lines), balances)
