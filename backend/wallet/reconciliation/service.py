"""Reconciliation: each day's settlement files against the ledger, and safeguarding.

**Ledger items** are the money transactions that moved money through the gateway and
were posted (they have a journal entry): a card top-up is a processor `charge`, a bank
top-up an `ach_debit`, a withdrawal or a merchant settlement a `payout`, a card
chargeback a processor `chargeback`. Each carries the gateway's reference.

**Import** (`import_file`) keeps the file whole and reads it once: the same bytes again
(a file that arrives twice) change nothing. Each line is matched, in order:
1. by reference (the gateway's, echoed in the file): the amount must agree, else an
   `amount_mismatch` break; a second line for an item already matched is a `duplicate`;
2. else by amount, currency, date within `TOLERANCE_DAYS` and counterparty (the card's or
   account's last four digits) against ledger items no line has claimed;
3. else it is an `unknown` item (a break).
The bank statement's processor batch line matches the processor file of its day by net
amount. When the whole file is in, every ledger item of the file's day and sources that
no line claimed becomes a `missing` break.

Breaks resolve by themselves when the world catches up: a missing item that arrives in a
later file (a late item) closes as `arrived_late`; an unknown item whose ledger item is
posted later (or whose processor file arrives after the bank's: files out of order)
closes as `matched_later` on the next import or daily run. Otherwise an operator closes
it: matched by hand with a note, or by an adjusting entry against gateway clearing that
a second operator approves (`wallet.adjustments`).

**Safeguarding** (`safeguarding_check` rows): customer money held, the balances of every
user and merchant liability account computed from postings at the end of the statement's
day, against the safeguarding account's closing balance on the bank statement. The
difference is reported, never posted: a shortfall is money the firm must add.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol

from wallet.adjustments import service as adjustments
from wallet.adjustments.service import Adjustment
from wallet.db.engine import Connection, connection, transaction
from wallet.errors import NotFound, Refusal
from wallet.gateway.settlement_files import (
    BANK_KINDS,
    PROCESSOR_KINDS,
    Line,
    SettlementFile,
    SettlementFileError,
    read_camt053,
    read_processor_csv,
)
from wallet.ledger import service as ledger
from wallet.ledger.models import Purpose
from wallet.money import Currency, Money
from wallet.reconciliation.tables import ReconBreak, ReconFile, SafeguardingCheck
from wallet.transactions import gateway_items

TOLERANCE_DAYS = 2
_LOCK = "SELECT pg_advisory_xact_lock(hashtext('wallet.reconciliation'))"


async def _unclaimed(conn: Connection, items: list[Any]) -> list[Any]:
    """The ledger items no file line has claimed yet (matched or as a break)."""
    claimed = {
        int(r["transaction_id"])
        for r in await conn.fetch(
            "SELECT transaction_id FROM recon_item WHERE transaction_id = ANY($1::bigint[])",
            [int(i["id"]) for i in items],
        )
    }
    return [i for i in items if int(i["id"]) not in claimed]


class UnreadableFile(Refusal):
    field = "file"
    code = "UNREADABLE_FILE"


class BreakNotFound(NotFound):
    def __init__(self, break_id: int) -> None:
        super().__init__(f"No reconciliation break {break_id}")


class BreakClosed(Refusal):
    field = "breakId"
    code = "BREAK_RESOLVED"

    def __init__(self) -> None:
        super().__init__("This break is already resolved")


class NothingToAdjust(Refusal):
    field = "breakId"
    code = "NOTHING_TO_ADJUST"

    def __init__(self) -> None:
        super().__init__(
            "A duplicate line moved no money twice: mark it matched by hand with a note"
        )


class NoteRequired(Refusal):
    field = "note"
    code = "REQUIRED"

    def __init__(self) -> None:
        super().__init__("Say how it was checked: the note is kept with the break")


class SettlementSource(Protocol):
    """Where each day's files come from (the sandbox gateway; SFTP or a bank API live)."""

    async def settlement_files(self, on: date) -> Any: ...


@dataclass(frozen=True, slots=True)
class ImportResult:
    file_id: int
    source: str
    business_date: date
    items: int
    matched: int
    breaks_opened: int
    already_imported: bool


def _kind_of(item: Any) -> str | None:
    """Which file line a ledger item should appear as."""
    kind = item["type"]
    if kind == "add":
        return "charge" if item["method_kind"] == "card" else "ach_debit"
    if kind in ("withdrawal", "settlement"):
        return "payout"
    if kind == "chargeback" and str(item["gateway_ref"]).endswith(":chargeback"):
        return "chargeback"
    return None


def _ledger_reference(line: Line) -> str:
    return f"{line.reference}:chargeback" if line.kind == "chargeback" else line.reference


def _signed(kind: str, amount: int) -> int:
    return amount if kind in ("charge", "ach_debit", "processor_settlement") else -amount


def parse(source: str, content: bytes, on: date) -> SettlementFile:
    try:
        if source == "processor":
            return read_processor_csv(content, on)
        if source == "bank":
            return read_camt053(content)
    except SettlementFileError as exc:
        raise UnreadableFile(f"The {source} file cannot be read: {exc}") from None
    raise UnreadableFile(f"Unknown source {source!r}: processor or bank")


async def _open_break(
    conn: Connection,
    kind: str,
    file_id: int,
    *,
    currency: Currency,
    detail: str,
    item_id: int | None = None,
    transaction_id: int | None = None,
    ledger_amount: int | None = None,
    file_amount: int | None = None,
) -> None:
    await conn.execute(
        "INSERT INTO recon_break (kind, file_id, item_id, transaction_id, currency, "
        "ledger_amount, file_amount, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
        "ON CONFLICT DO NOTHING",
        kind,
        file_id,
        item_id,
        transaction_id,
        currency.value,
        ledger_amount,
        file_amount,
        detail,
    )


async def _insert_item(
    conn: Connection,
    file_id: int,
    number: int,
    line: Line,
    status: str,
    transaction_id: int | None = None,
    matched_by: str | None = None,
    matched_file_id: int | None = None,
) -> int:
    return int(
        await conn.fetchval(
            "INSERT INTO recon_item (file_id, line, kind, reference, booked_on, direction, "
            "amount, currency, counterparty, status, transaction_id, matched_by, "
            "matched_file_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
            " RETURNING id",
            file_id,
            number,
            line.kind,
            line.reference,
            line.booked_on,
            line.direction,
            line.amount,
            line.currency.value,
            line.counterparty,
            status,
            transaction_id,
            matched_by,
            matched_file_id,
        )
    )


@dataclass(frozen=True, slots=True)
class _Match:
    transaction_id: int | None = None
    matched_by: str | None = None
    matched_file_id: int | None = None
    # A break instead: (kind, ledger amount, detail).
    refused: tuple[str, int | None, str] | None = None


async def _batch_match(conn: Connection, line: Line) -> _Match:
    files = await conn.fetch(
        "SELECT id FROM recon_file WHERE source = 'processor' AND business_date = $1",
        line.booked_on,
    )
    if not files:
        return _Match(
            refused=("unknown", None, f"The processor's file for {line.booked_on} is not in yet")
        )
    net = await conn.fetchval(
        "SELECT coalesce(sum(CASE WHEN direction = 'C' THEN amount ELSE -amount END), 0) "
        "FROM recon_item WHERE file_id = ANY($1::bigint[]) AND currency = $2",
        [int(f["id"]) for f in files],
        line.currency.value,
    )
    if int(net) != line.amount:
        return _Match(
            refused=(
                "amount_mismatch",
                int(net),
                f"The processor's batch for {line.booked_on} nets "
                f"{Money(int(net), line.currency).format()}, the bank credited "
                f"{Money(line.amount, line.currency).format()}",
            )
        )
    return _Match(matched_by="batch", matched_file_id=int(files[-1]["id"]))


async def _match(conn: Connection, line: Line) -> _Match:
    if line.kind == "processor_settlement":
        return await _batch_match(conn, line)
    if line.reference:
        item = await gateway_items.by_reference(conn, _ledger_reference(line))
        if item is not None and _kind_of(item) == line.kind:
            claimed = await conn.fetchval(
                "SELECT 1 FROM recon_item WHERE transaction_id = $1 AND status = 'matched'",
                int(item["id"]),
            )
            if claimed:
                return _Match(
                    transaction_id=None,
                    refused=(
                        "duplicate",
                        int(item["amount"]),
                        f"{line.reference} was already matched by an earlier line",
                    ),
                )
            if int(item["amount"]) != line.amount or item["currency"] != line.currency.value:
                return _Match(
                    transaction_id=int(item["id"]),
                    refused=(
                        "amount_mismatch",
                        int(item["amount"]),
                        f"The ledger has {Money(int(item['amount']), line.currency).format()} "
                        f"for {line.reference}, the file "
                        f"{Money(line.amount, line.currency).format()}",
                    ),
                )
            return _Match(transaction_id=int(item["id"]), matched_by="reference")
    # By amount, currency, date and counterparty, among items no line has claimed.
    nearby = await gateway_items.posted_between(
        conn,
        line.booked_on - timedelta(days=TOLERANCE_DAYS),
        line.booked_on + timedelta(days=TOLERANCE_DAYS),
        amount=line.amount,
        currency=line.currency.value,
    )
    for candidate in await _unclaimed(conn, nearby):
        last4 = candidate["last4"]
        if _kind_of(candidate) != line.kind:
            continue
        if last4 and line.counterparty and not line.counterparty.endswith(str(last4)):
            continue
        return _Match(transaction_id=int(candidate["id"]), matched_by="amount_date_counterparty")
    return _Match(
        refused=(
            "unknown",
            None,
            f"No ledger item for {line.reference or 'a line without a reference'}",
        )
    )


async def _claim(conn: Connection, transaction_id: int, item_id: int) -> None:
    """A ledger item is matched: a missing break it had closes (the item was late)."""
    await conn.execute(
        "UPDATE recon_break SET status = 'resolved', resolution = 'arrived_late', "
        "resolved_at = now(), note = 'Arrived in a later file (item ' || $2::text || ')' "
        "WHERE transaction_id = $1 AND kind = 'missing' AND status = 'open'",
        transaction_id,
        str(item_id),
    )


async def _read_line(conn: Connection, file_id: int, number: int, line: Line) -> bool:
    """Match one line (True) or open its break (False)."""
    found = await _match(conn, line)
    if found.refused is None:
        item_id = await _insert_item(
            conn,
            file_id,
            number,
            line,
            "matched",
            found.transaction_id,
            found.matched_by,
            found.matched_file_id,
        )
        if found.transaction_id is not None:
            await _claim(conn, found.transaction_id, item_id)
        return True
    kind, ledger_amount, detail = found.refused
    item_id = await _insert_item(conn, file_id, number, line, "break", found.transaction_id)
    await _open_break(
        conn,
        kind,
        file_id,
        currency=line.currency,
        detail=detail,
        item_id=item_id,
        transaction_id=found.transaction_id,
        ledger_amount=None if ledger_amount is None else _signed(line.kind, ledger_amount),
        file_amount=line.signed,
    )
    return False


async def _flag_missing(conn: Connection, parsed: SettlementFile, file_id: int) -> int:
    kinds = PROCESSOR_KINDS if parsed.source == "processor" else BANK_KINDS
    opened = 0
    day = parsed.business_date
    for item in await _unclaimed(conn, await gateway_items.posted_between(conn, day, day)):
        kind = _kind_of(item)
        if kind not in kinds:
            continue
        currency = Currency(item["currency"])
        assert kind is not None
        status = await conn.execute(
            "INSERT INTO recon_break (kind, file_id, transaction_id, currency, ledger_amount, "
            "detail) VALUES ('missing', $1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            file_id,
            int(item["id"]),
            currency.value,
            _signed(kind, int(item["amount"])),
            f"The ledger posted {item['gateway_ref']} "
            f"({Money(int(item['amount']), currency).format()} {currency.value}) on "
            f"{parsed.business_date}; the {parsed.source} file of that day does not have it",
        )
        opened += status.endswith("1")
    return opened


async def _safeguarding(conn: Connection, parsed: SettlementFile, file_id: int) -> None:
    end = datetime.combine(parsed.business_date + timedelta(days=1), time(), UTC)
    for currency, balances in parsed.balances.items():
        held = await ledger.customer_money_at(conn, currency, end)
        await conn.execute(
            "INSERT INTO safeguarding_check (file_id, business_date, currency, customer_money, "
            "bank_balance) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            file_id,
            parsed.business_date,
            currency.value,
            int(held),
            balances.closing,
        )


async def _rematch(conn: Connection) -> int:
    """Close unknown breaks whose ledger item (or processor file) has appeared since."""
    closed = 0
    for row in await conn.fetch(
        "SELECT b.id AS break_id, i.id AS item_id, i.kind, i.reference, i.booked_on, i.amount,"
        " i.currency, i.counterparty FROM recon_break b JOIN recon_item i ON i.id = b.item_id "
        "WHERE b.status = 'open' AND b.kind = 'unknown' ORDER BY b.id"
    ):
        line = Line(
            row["kind"],
            row["reference"],
            row["booked_on"],
            int(row["amount"]),
            Currency(row["currency"]),
            row["counterparty"],
        )
        found = await _match(conn, line)
        if found.refused is not None:
            continue
        await conn.execute(
            "UPDATE recon_item SET status = 'matched', transaction_id = $2, matched_by = $3, "
            "matched_file_id = $4 WHERE id = $1",
            int(row["item_id"]),
            found.transaction_id,
            found.matched_by,
            found.matched_file_id,
        )
        if found.transaction_id is not None:
            await _claim(conn, found.transaction_id, int(row["item_id"]))
        await conn.execute(
            "UPDATE recon_break SET status = 'resolved', resolution = 'matched_later', "
            "resolved_at = now(), note = 'Its ledger item or file arrived later' WHERE id = $1",
            int(row["break_id"]),
        )
        closed += 1
    return closed


async def import_file(source: str, file_name: str, content: bytes, on: date) -> ImportResult:
    """Import one settlement file (idempotent by its digest) and reconcile it."""
    parsed = parse(source, content, on)
    digest = hashlib.sha256(content).hexdigest()
    async with transaction() as conn:
        await conn.execute(_LOCK)
        existing = await conn.fetchrow(
            "SELECT f.id, f.items, (SELECT count(*) FROM recon_item i WHERE i.file_id = f.id "
            "AND i.status = 'matched') AS matched FROM recon_file f WHERE digest = $1",
            digest,
        )
        if existing is not None:
            return ImportResult(
                int(existing["id"]),
                source,
                parsed.business_date,
                int(existing["items"]),
                int(existing["matched"]),
                0,
                already_imported=True,
            )
        file_id = int(
            await conn.fetchval(
                "INSERT INTO recon_file (source, format, business_date, file_name, digest, "
                "content, items) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                parsed.source,
                parsed.format,
                parsed.business_date,
                file_name[:200],
                digest,
                content,
                len(parsed.lines),
            )
        )
        matched = 0
        for number, line in enumerate(parsed.lines, start=1):
            matched += await _read_line(conn, file_id, number, line)
        breaks = len(parsed.lines) - matched + await _flag_missing(conn, parsed, file_id)
        if parsed.source == "bank":
            await _safeguarding(conn, parsed, file_id)
        await _rematch(conn)
    return ImportResult(
        file_id, source, parsed.business_date, len(parsed.lines), matched, breaks, False
    )


async def reconcile_day(source: SettlementSource, on: date) -> list[ImportResult]:
    """The daily job: fetch the day's files, import the processor's, then the bank's."""
    files = await source.settlement_files(on)
    return [
        await import_file("processor", files.processor_name, files.processor_csv, on),
        await import_file("bank", files.bank_name, files.bank_statement, on),
    ]


async def rematch() -> int:
    async with transaction() as conn:
        await conn.execute(_LOCK)
        return await _rematch(conn)


# --- operators resolve breaks --------------------------------------------------------


async def _open(conn: Connection, break_id: int) -> Any:
    row = await conn.fetchrow(
        "SELECT id, kind, status, currency, ledger_amount, file_amount, item_id, "
        "transaction_id FROM recon_break WHERE id = $1 FOR UPDATE",
        break_id,
    )
    if row is None:
        raise BreakNotFound(break_id)
    if row["status"] != "open":
        raise BreakClosed()
    return row


async def match_by_hand(operator_id: int, break_id: int, note: str) -> None:
    """Close a break as matched by hand (the operator checked it elsewhere), with a note."""
    note = note.strip()
    if not note:
        raise NoteRequired()
    async with transaction() as conn:
        await _open(conn, break_id)
        await conn.execute(
            "UPDATE recon_break SET status = 'resolved', resolution = 'matched_by_hand', "
            "resolved_by = $2, resolved_at = now(), note = $3 WHERE id = $1",
            break_id,
            operator_id,
            note[:1000],
        )


async def propose_adjustment(
    operator_id: int, break_id: int, counter_account_id: int, reason: str
) -> Adjustment:
    """Propose the entry that makes the ledger agree with the file: gateway clearing moves
    by the difference, against `counter_account_id`. A second operator approves it."""
    async with transaction() as conn:
        row = await _open(conn, break_id)
        if row["kind"] == "duplicate":
            raise NothingToAdjust()
        difference = int(row["file_amount"] or 0) - int(row["ledger_amount"] or 0)
        if difference == 0:
            raise NothingToAdjust()
        currency = Currency(row["currency"])
        clearing = await ledger.system_account_id(conn, currency, Purpose.GATEWAY_CLEARING_SANDBOX)
        # More at the bank than in the ledger: clearing (an asset) goes up (debit).
        debit, credit = (
            (clearing, counter_account_id) if difference > 0 else (counter_account_id, clearing)
        )
        return await adjustments.propose_entry(
            conn,
            operator_id,
            debit_account_id=debit,
            credit_account_id=credit,
            amount=Money(abs(difference), currency),
            reason=reason,
            recon_break_id=break_id,
        )


async def approve_adjustment(operator_id: int, adjustment_id: int, note: str = "") -> Adjustment:
    """The second operator approves: the entry is posted and its break (if any) closes,
    in one transaction."""
    async with transaction() as conn:
        done = await adjustments.approve_in(conn, operator_id, adjustment_id, note)
        if done.recon_break_id is not None:
            await conn.execute(
                "UPDATE recon_break SET status = 'resolved', resolution = 'adjusted', "
                "resolved_by = $2, resolved_at = now(), adjustment_id = $3, "
                "note = 'Adjusting entry #' || $4::text || ' posted' "
                "WHERE id = $1 AND status = 'open'",
                done.recon_break_id,
                operator_id,
                done.id,
                str(done.entry_id),
            )
        return done


async def reject_adjustment(operator_id: int, adjustment_id: int, note: str) -> Adjustment:
    async with transaction() as conn:
        return await adjustments.reject_in(conn, operator_id, adjustment_id, note)


# --- what operators read -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FileRun:
    id: int
    source: str
    format: str
    business_date: date
    file_name: str
    items: int
    matched: int
    open_breaks: int
    imported_at: datetime


async def runs(first: int = 30) -> list[FileRun]:
    async with connection() as conn:
        rows = await conn.fetch(
            "SELECT f.id, f.source, f.format, f.business_date, f.file_name, f.items, "
            "f.imported_at, (SELECT count(*) FROM recon_item i WHERE i.file_id = f.id "
            "AND i.status = 'matched') AS matched, (SELECT count(*) FROM recon_break b "
            "WHERE b.file_id = f.id AND b.status = 'open') AS open_breaks "
            "FROM recon_file f ORDER BY f.business_date DESC, f.id DESC LIMIT $1",
            max(1, min(first, 200)),
        )
    return [
        FileRun(
            int(r["id"]),
            r["source"],
            r["format"],
            r["business_date"],
            r["file_name"],
            int(r["items"]),
            int(r["matched"]),
            int(r["open_breaks"]),
            r["imported_at"],
        )
        for r in rows
    ]


async def file_items(file_id: int) -> list[dict[str, Any]]:
    async with connection() as conn:
        rows = await conn.fetch(
            "SELECT id, line, kind, reference, booked_on, direction, amount, currency, "
            "counterparty, status, transaction_id, matched_by FROM recon_item "
            "WHERE file_id = $1 ORDER BY line",
            file_id,
        )
    return [dict(r) for r in rows]


def _breaks_query() -> Any:
    return ReconBreak.select(
        *ReconBreak.all_columns(),
        ReconBreak.item_id.reference.as_alias("reference"),
        ReconBreak.file_id.business_date.as_alias("business_date"),
        ReconBreak.file_id.source.as_alias("source"),
    )


async def breaks(*, open_only: bool, first: int = 100) -> list[dict[str, Any]]:
    query = _breaks_query()
    if open_only:
        query = query.where(ReconBreak.status == "open")
    rows = await query.order_by(ReconBreak.id, ascending=False).limit(max(1, min(first, 500)))
    return list(rows)


async def break_of(break_id: int) -> dict[str, Any] | None:
    """One break, as `breaks` lists it."""
    return await _breaks_query().where(ReconBreak.id == break_id).first()  # type: ignore[no-any-return]


async def safeguarding(first: int = 30) -> list[dict[str, Any]]:
    rows = (
        await SafeguardingCheck.select()
        .order_by(SafeguardingCheck.business_date, ascending=False)
        .order_by(SafeguardingCheck.id, ascending=False)
        .limit(max(1, min(first, 200)))
    )
    return list(rows)


async def imported_files() -> int:
    return int(await ReconFile.count())
