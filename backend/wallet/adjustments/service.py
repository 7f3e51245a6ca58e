"""Four eyes on every hand-made ledger change.

One operator proposes: an adjusting entry (debit one account, credit another, an amount,
a reason) or the reversal of a completed transfer. A second operator approves or
rejects it. The approval writes, in one transaction with the decision: the entry through
`ledger.post_entry` (so every ledger guard applies: balanced, same currency, no
overdraft), or the reversal through `wallet.transfers.reversal`. The proposer can never
approve their own proposal; the database refuses it too (a CHECK in migration 0048).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from wallet.adjustments.tables import LedgerAdjustment
from wallet.db.engine import Connection, connection, transaction
from wallet.errors import Forbidden, NotFound, Refusal
from wallet.ledger import service as ledger
from wallet.ledger.models import AccountStatus, EntryDraft
from wallet.money import Currency, Money
from wallet.transfers.reversal import check_reversible, reverse_in

ENTRY_KIND = "adjustment"
REASON_LIMIT = 2_000


class AdjustmentKind(Enum):
    ENTRY = "entry"
    REVERSAL = "reversal"


class AdjustmentStatus(Enum):
    PROPOSED = "proposed"
    APPROVED = "approved"
    REJECTED = "rejected"


class AdjustmentRefused(Refusal):
    pass


class ReasonRequired(AdjustmentRefused):
    field = "reason"
    code = "REQUIRED"

    def __init__(self) -> None:
        super().__init__("Say why: the reason is kept with the entry")


class ReasonTooLong(AdjustmentRefused):
    field = "reason"
    code = "TOO_LONG"

    def __init__(self) -> None:
        super().__init__(f"Keep the reason under {REASON_LIMIT} characters")


class BadAccounts(AdjustmentRefused):
    field = "creditAccountId"
    code = "INVALID_ACCOUNTS"


class AdjustmentNotFound(AdjustmentRefused, NotFound):
    def __init__(self, adjustment_id: int) -> None:
        super().__init__(f"No adjustment {adjustment_id}")


class AlreadyDecided(AdjustmentRefused):
    field = "adjustmentId"
    code = "ALREADY_DECIDED"

    def __init__(self, status: str) -> None:
        super().__init__(f"This adjustment was already {status}")


class OwnProposal(AdjustmentRefused, Forbidden):
    code = "FOUR_EYES"

    def __init__(self) -> None:
        super().__init__("A second operator must approve: you proposed this one")


class AlreadyProposed(AdjustmentRefused):
    field = "transactionId"
    code = "ALREADY_PROPOSED"

    def __init__(self) -> None:
        super().__init__("A reversal of this transaction is already waiting for approval")


@dataclass(frozen=True, slots=True)
class Adjustment:
    id: int
    kind: AdjustmentKind
    reason: str
    proposed_by: int
    proposed_at: datetime
    status: AdjustmentStatus
    amount: Money | None
    debit_account_id: int | None
    credit_account_id: int | None
    transaction_id: int | None
    recon_break_id: int | None
    decided_by: int | None
    decided_at: datetime | None
    decision_note: str | None
    entry_id: int | None
    result_transaction_id: int | None

    @classmethod
    def from_row(cls, row: dict[str, object]) -> Adjustment:
        def num(key: str) -> int | None:
            value = row[key]
            return None if value is None else int(str(value))

        amount = None
        if row["amount"] is not None:
            amount = Money(int(str(row["amount"])), Currency(str(row["currency"])))
        return cls(
            id=int(str(row["id"])),
            kind=AdjustmentKind(row["kind"]),
            reason=str(row["reason"]),
            proposed_by=int(str(row["proposed_by"])),
            proposed_at=row["proposed_at"],  # type: ignore[arg-type]
            status=AdjustmentStatus(row["status"]),
            amount=amount,
            debit_account_id=num("debit_account_id"),
            credit_account_id=num("credit_account_id"),
            transaction_id=num("transaction_id"),
            recon_break_id=num("recon_break_id"),
            decided_by=num("decided_by"),
            decided_at=row["decided_at"],  # type: ignore[arg-type]
            decision_note=None if row["decision_note"] is None else str(row["decision_note"]),
            entry_id=num("entry_id"),
            result_transaction_id=num("result_transaction_id"),
        )


def _reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise ReasonRequired()
    if len(reason) > REASON_LIMIT:
        raise ReasonTooLong()
    return reason


_COLUMNS = ", ".join(c._meta.db_column_name for c in LedgerAdjustment._meta.columns)


async def _fetch(conn: Connection, adjustment_id: int, *, lock: bool = False) -> Adjustment:
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM ledger_adjustment WHERE id = $1"  # noqa: S608
        + (" FOR UPDATE" if lock else ""),
        adjustment_id,
    )
    if row is None:
        raise AdjustmentNotFound(adjustment_id)
    return Adjustment.from_row(dict(row))


async def propose_entry(
    conn: Connection,
    operator_id: int,
    *,
    debit_account_id: int,
    credit_account_id: int,
    amount: Money,
    reason: str,
    recon_break_id: int | None = None,
) -> Adjustment:
    """Propose an adjusting entry (in the caller's transaction); nothing is posted yet."""
    reason = _reason(reason)
    if amount.amount_minor <= 0:
        raise BadAccounts("The amount must be more than zero")
    if debit_account_id == credit_account_id:
        raise BadAccounts("Debit and credit one account each, two different accounts")
    states = await ledger.account_states(conn, [debit_account_id, credit_account_id])
    if len(states) != 2:
        raise BadAccounts("No such account")
    if any(currency is not amount.currency for currency, _ in states.values()):
        raise BadAccounts(f"Both accounts must be in {amount.currency.value}")
    if any(status is AccountStatus.CLOSED for _, status in states.values()):
        raise BadAccounts("One of the accounts is closed")
    adjustment_id = await conn.fetchval(
        "INSERT INTO ledger_adjustment (kind, reason, proposed_by, currency, amount, "
        "debit_account_id, credit_account_id, recon_break_id) "
        "VALUES ('entry', $1, $2, $3, $4, $5, $6, $7) RETURNING id",
        reason,
        operator_id,
        amount.currency.value,
        amount.amount_minor,
        debit_account_id,
        credit_account_id,
        recon_break_id,
    )
    return await _fetch(conn, int(adjustment_id))


async def propose(
    operator_id: int,
    *,
    debit_account_id: int,
    credit_account_id: int,
    amount: Money,
    reason: str,
) -> Adjustment:
    async with transaction() as conn:
        return await propose_entry(
            conn,
            operator_id,
            debit_account_id=debit_account_id,
            credit_account_id=credit_account_id,
            amount=amount,
            reason=reason,
        )


async def propose_reversal(operator_id: int, transaction_id: int, reason: str) -> Adjustment:
    """Propose reversing a completed transfer; refused now if it could not be reversed."""
    reason = _reason(reason)
    async with transaction() as conn:
        await check_reversible(conn, transaction_id)
        adjustment_id = await conn.fetchval(
            "INSERT INTO ledger_adjustment (kind, reason, proposed_by, transaction_id) "
            "VALUES ('reversal', $1, $2, $3) ON CONFLICT DO NOTHING RETURNING id",
            reason,
            operator_id,
            transaction_id,
        )
        if adjustment_id is None:
            raise AlreadyProposed()
        return await _fetch(conn, int(adjustment_id))


async def approve_in(
    conn: Connection, operator_id: int, adjustment_id: int, note: str = ""
) -> Adjustment:
    """Approve and carry out (in the caller's transaction); refused for its proposer."""
    proposal = await _fetch(conn, adjustment_id, lock=True)
    if proposal.status is not AdjustmentStatus.PROPOSED:
        raise AlreadyDecided(proposal.status.value)
    if proposal.proposed_by == operator_id:
        raise OwnProposal()
    entry_id: int | None = None
    result_transaction_id: int | None = None
    if proposal.kind is AdjustmentKind.ENTRY:
        assert proposal.amount is not None
        assert proposal.debit_account_id is not None and proposal.credit_account_id is not None
        entry_id = await ledger.post_entry(
            conn,
            EntryDraft.transfer(
                ENTRY_KIND,
                proposal.debit_account_id,
                proposal.credit_account_id,
                proposal.amount,
                f"adjustment {proposal.id}: {proposal.reason}"[:500],
            ),
        )
    else:
        assert proposal.transaction_id is not None
        done = await reverse_in(conn, proposal.transaction_id, proposal.reason)
        result_transaction_id = done.reversal_id
    await conn.execute(
        "UPDATE ledger_adjustment SET status = 'approved', decided_by = $2, decided_at = now(),"
        " decision_note = $3, entry_id = $4, result_transaction_id = $5 WHERE id = $1",
        adjustment_id,
        operator_id,
        note.strip() or None,
        entry_id,
        result_transaction_id,
    )
    return await _fetch(conn, adjustment_id)


async def reject_in(
    conn: Connection, operator_id: int, adjustment_id: int, note: str
) -> Adjustment:
    """Reject (any operator other than the proposer; the proposer withdraws by asking a
    colleague to reject, so every decision has two names on it)."""
    note = _reason(note)
    proposal = await _fetch(conn, adjustment_id, lock=True)
    if proposal.status is not AdjustmentStatus.PROPOSED:
        raise AlreadyDecided(proposal.status.value)
    if proposal.proposed_by == operator_id:
        raise OwnProposal()
    await conn.execute(
        "UPDATE ledger_adjustment SET status = 'rejected', decided_by = $2, decided_at = now(),"
        " decision_note = $3 WHERE id = $1",
        adjustment_id,
        operator_id,
        note,
    )
    return await _fetch(conn, adjustment_id)


async def approve(operator_id: int, adjustment_id: int, note: str = "") -> Adjustment:
    async with transaction() as conn:
        return await approve_in(conn, operator_id, adjustment_id, note)


async def listed(*, open_only: bool, first: int = 50) -> list[Adjustment]:
    """Proposals newest first; only those waiting for a decision if `open_only`."""
    async with connection() as conn:
        rows = await conn.fetch(
            f"SELECT {_COLUMNS} FROM ledger_adjustment "  # noqa: S608
            + ("WHERE status = 'proposed' " if open_only else "")
            + "ORDER BY id DESC LIMIT $1",
            max(1, min(first, 200)),
        )
    return [Adjustment.from_row(dict(r)) for r in rows]
