"""The one write path for money: open accounts, post balanced entries, read balances.

Every function takes the caller's connection, which must be inside a transaction for
writes. `post_entry` locks the touched account rows in ascending id order (no
deadlocks between concurrent entries), checks status and overdraft, then writes the
entry, its postings with balance-after snapshots, and the new running totals.
Concurrency model: READ COMMITTED plus row locks (docs/ledger.md).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from wallet.db.engine import Connection
from wallet.ledger.errors import (
    AccountNotActive,
    AccountNotFound,
    CurrencyMismatchInEntry,
    InsufficientFunds,
    UnbalancedEntry,
)
from wallet.ledger.models import (
    AccountStatus,
    AccountType,
    Balance,
    EntryDraft,
    OwnerType,
    Side,
    normal_balance,
    reserved_amount,
)
from wallet.money import Currency

_BALANCE_COLUMNS = (
    "id, currency, normal_side, no_overdraft, status, "
    "posted_debits, posted_credits, pending_debits, pending_credits"
)


def account_code(
    owner_type: OwnerType, owner_id: int | None, currency: Currency, purpose: str
) -> str:
    owner = owner_type.value if owner_id is None else f"{owner_type.value}:{owner_id}"
    return f"{owner}:{currency.value}:{purpose}"


async def open_account(
    conn: Connection,
    *,
    owner_type: OwnerType,
    owner_id: int | None,
    currency: Currency,
    purpose: str,
    account_type: AccountType,
    no_overdraft: bool,
) -> int:
    """Create the (owner, currency, purpose) account, or return the existing one's id."""
    row = await conn.fetchrow(
        """
        INSERT INTO ledger_account (code, owner_type, owner_id, currency, purpose,
                                    account_type, normal_side, no_overdraft)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
        ON CONFLICT (code) DO UPDATE SET code = EXCLUDED.code
        RETURNING id
        """,
        account_code(owner_type, owner_id, currency, purpose),
        owner_type.value,
        owner_id,
        currency.value,
        purpose,
        account_type.value,
        account_type.normal_side.value,
        no_overdraft,
    )
    assert row is not None
    return int(row["id"])


async def find_accounts(
    conn: Connection, owner_type: OwnerType, owner_ids: list[int], currency: Currency, purpose: str
) -> dict[int, int]:
    """Owner id -> account id of each owner's (currency, purpose) account that is open."""
    codes = [account_code(owner_type, o, currency, purpose) for o in owner_ids]
    rows = await conn.fetch(
        "SELECT owner_id, id FROM ledger_account WHERE code = ANY($1::text[])", codes
    )
    return {int(r["owner_id"]): int(r["id"]) for r in rows}


async def find_account(
    conn: Connection, owner_type: OwnerType, owner_id: int | None, currency: Currency, purpose: str
) -> int | None:
    """The id of the (owner, currency, purpose) account, or None if it is not open."""
    code = account_code(owner_type, owner_id, currency, purpose)
    account_id = await conn.fetchval("SELECT id FROM ledger_account WHERE code = $1", code)
    return None if account_id is None else int(account_id)


async def system_account_id(conn: Connection, currency: Currency, purpose: str) -> int:
    account_id = await find_account(conn, OwnerType.SYSTEM, None, currency, purpose)
    if account_id is None:
        raise AccountNotFound([])
    return account_id


@dataclass
class _Locked:
    """A locked account row and its totals as the entry is applied."""

    currency: str
    normal_side: Side
    no_overdraft: bool
    status: str
    posted_debits: int
    posted_credits: int
    pending_debits: int
    pending_credits: int
    requested_debit: int = 0

    @property
    def posted(self) -> int:
        return normal_balance(self.normal_side, self.posted_debits, self.posted_credits)

    @property
    def available(self) -> int:
        reserved = reserved_amount(self.normal_side, self.pending_debits, self.pending_credits)
        return self.posted - reserved


def _validate(draft: EntryDraft) -> None:
    if len(draft.postings) < 2:
        raise UnbalancedEntry("a journal entry needs at least two postings")
    totals: dict[Currency, list[int]] = defaultdict(lambda: [0, 0])
    for posting in draft.postings:
        if posting.amount.amount_minor <= 0:
            raise UnbalancedEntry("posting amounts must be positive")
        totals[posting.amount.currency][0 if posting.side is Side.DEBIT else 1] += (
            posting.amount.amount_minor
        )
    for currency, (debits, credits) in totals.items():
        if debits != credits:
            raise UnbalancedEntry(
                f"{currency.value} debits {debits} do not equal credits {credits}"
            )


async def lock_accounts(conn: Connection, account_ids: list[int]) -> dict[int, _Locked]:
    rows = await conn.fetch(
        f"SELECT {_BALANCE_COLUMNS} FROM ledger_account "  # noqa: S608 (constant columns)
        "WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE",
        account_ids,
    )
    locked = {
        int(r["id"]): _Locked(
            currency=r["currency"],
            normal_side=Side(r["normal_side"]),
            no_overdraft=r["no_overdraft"],
            status=r["status"],
            posted_debits=r["posted_debits"],
            posted_credits=r["posted_credits"],
            pending_debits=r["pending_debits"],
            pending_credits=r["pending_credits"],
        )
        for r in rows
    }
    missing = [a for a in account_ids if a not in locked]
    if missing:
        raise AccountNotFound(missing)
    return locked


async def post_entry(conn: Connection, draft: EntryDraft) -> int:
    """Post a balanced journal entry in the caller's transaction; return its id."""
    _validate(draft)
    account_ids = sorted({p.account_id for p in draft.postings})
    accounts = await lock_accounts(conn, account_ids)

    posting_rows: list[tuple[Any, ...]] = []
    for posting in draft.postings:
        account = accounts[posting.account_id]
        if account.currency != posting.amount.currency.value:
            raise CurrencyMismatchInEntry(
                posting.account_id, account.currency, posting.amount.currency.value
            )
        reduces_balance = posting.side is not account.normal_side
        if account.status == AccountStatus.CLOSED.value or (
            account.status == AccountStatus.FROZEN.value and reduces_balance
        ):
            raise AccountNotActive(posting.account_id, account.status)
        amount = posting.amount.amount_minor
        if posting.side is Side.DEBIT:
            account.posted_debits += amount
        else:
            account.posted_credits += amount
        if reduces_balance:
            account.requested_debit += amount
        posting_rows.append(
            (posting.account_id, account.currency, posting.side.value, amount, account.posted)
        )

    for account_id, account in accounts.items():
        if account.no_overdraft and account.available < 0:
            raise InsufficientFunds(
                account_id, account.available + account.requested_debit, account.requested_debit
            )

    entry_id = await conn.fetchval(
        "INSERT INTO journal_entry (kind, description) VALUES ($1, $2) RETURNING id",
        draft.kind,
        draft.description,
    )
    await conn.executemany(
        "INSERT INTO posting (entry_id, account_id, currency, side, amount, balance_after) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        [(entry_id, *row) for row in posting_rows],
    )
    await conn.executemany(
        "UPDATE ledger_account SET posted_debits = $2, posted_credits = $3 WHERE id = $1",
        [(a, acc.posted_debits, acc.posted_credits) for a, acc in accounts.items()],
    )
    return int(entry_id)


def _balance(row: Any) -> Balance:
    return Balance(
        account_id=int(row["id"]),
        currency=Currency(row["currency"]),
        normal_side=Side(row["normal_side"]),
        posted_debits=row["posted_debits"],
        posted_credits=row["posted_credits"],
        pending_debits=row["pending_debits"],
        pending_credits=row["pending_credits"],
    )


async def balances_of_owner(
    conn: Connection, owner_type: OwnerType, owner_id: int, purpose: str
) -> list[Balance]:
    rows = await conn.fetch(
        f"SELECT {_BALANCE_COLUMNS} FROM ledger_account "  # noqa: S608 (constant columns)
        "WHERE owner_type = $1 AND owner_id = $2 AND purpose = $3 ORDER BY currency",
        owner_type.value,
        owner_id,
        purpose,
    )
    return [_balance(r) for r in rows]


async def balance(conn: Connection, account_id: int) -> Balance:
    row = await conn.fetchrow(
        f"SELECT {_BALANCE_COLUMNS} FROM ledger_account WHERE id = $1",  # noqa: S608
        account_id,
    )
    if row is None:
        raise AccountNotFound([account_id])
    return _balance(row)


@dataclass(frozen=True, slots=True)
class ChartEntry:
    account_id: int
    code: str
    purpose: str
    account_type: AccountType
    balance: Balance


async def chart_of_accounts(conn: Connection) -> list[ChartEntry]:
    """The platform's own accounts (every system account) with their balances."""
    rows = await conn.fetch(
        f"SELECT {_BALANCE_COLUMNS}, code, purpose, account_type FROM ledger_account "  # noqa: S608
        "WHERE owner_type = 'system' ORDER BY purpose, currency"
    )
    return [
        ChartEntry(
            account_id=int(r["id"]),
            code=r["code"],
            purpose=r["purpose"],
            account_type=AccountType(r["account_type"]),
            balance=_balance(r),
        )
        for r in rows
    ]
