"""Journal entries with the business transactions they belong to, for the operators'
ledger explorer: entries searched by transaction or gateway reference as well as by
the ledger's own filters, each with its transaction and that transaction's reference.

The link is `transaction_entry` (written by the database whenever a transaction is given
an entry, so it keeps a transaction's earlier entries too); the entries themselves are
read through `wallet.ledger.explorer`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from wallet.db.engine import connection
from wallet.ledger import explorer
from wallet.transactions.tables import TransactionEntry


@dataclass(frozen=True, slots=True)
class LinkedEntry:
    entry: explorer.Entry
    transaction_id: int | None
    reference: str | None  # the transaction's gateway reference, if it has one


async def entries_of_transaction(transaction_id: int) -> list[int]:
    """The journal entries of one transaction, oldest first."""
    rows = (
        await TransactionEntry.select(TransactionEntry.entry_id)
        .where(TransactionEntry.transaction_id == transaction_id)
        .order_by(TransactionEntry.entry_id)
    )
    return [int(r["entry_id"]) for r in rows]


async def entries_with_reference(reference: str) -> list[int]:
    """The journal entries of the transaction whose gateway reference is `reference`
    (exactly; references are unique)."""
    rows = (
        await TransactionEntry.select(TransactionEntry.entry_id)
        .where(TransactionEntry.transaction_id.gateway_ref == reference)
        .order_by(TransactionEntry.entry_id)
    )
    return [int(r["entry_id"]) for r in rows]


async def links_of(entry_ids: Sequence[int]) -> dict[int, tuple[int, str | None]]:
    """Entry id -> (its transaction, that transaction's gateway reference), for the
    entries that belong to one."""
    if not entry_ids:
        return {}
    rows = await TransactionEntry.select(
        TransactionEntry.entry_id,
        TransactionEntry.transaction_id,
        TransactionEntry.transaction_id.gateway_ref.as_alias("reference"),
    ).where(TransactionEntry.entry_id.is_in(list(entry_ids)))
    return {int(r["entry_id"]): (int(r["transaction_id"]), r["reference"]) for r in rows}


def _linked(
    entries: Sequence[explorer.Entry], links: dict[int, tuple[int, str | None]]
) -> list[LinkedEntry]:
    linked = []
    for e in entries:
        transaction_id, reference = links.get(e.id, (None, None))
        linked.append(LinkedEntry(e, transaction_id, reference))
    return linked


async def find_entries(
    search: explorer.EntrySearch,
    *,
    transaction_id: int | None = None,
    reference: str | None = None,
) -> list[LinkedEntry]:
    """A page of entries (`explorer.EntrySearch`), kept to `transaction_id`'s if given,
    and to those of the transaction with gateway reference `reference` or whose
    description contains it, if given."""
    if transaction_id is not None:
        search = replace(search, among=tuple(await entries_of_transaction(transaction_id)))
    if reference is not None:
        search = replace(
            search,
            matching_entries=tuple(await entries_with_reference(reference)),
            description_contains=reference,
        )
    async with connection() as conn:
        found = await explorer.entries(conn, search)
    return _linked(found, await links_of([e.id for e in found]))


async def get_entry(entry_id: int) -> LinkedEntry | None:
    async with connection() as conn:
        found = await explorer.entry(conn, entry_id)
    if found is None:
        return None
    return _linked([found], await links_of([entry_id]))[0]
