"""The one write path for money: open accounts, post balanced entries, read balances.

Every function takes the caller's connection, which must be inside a transaction for
writes. `post_entry` locks the touched account rows in ascending id order (no
deadlocks between concurrent entries), checks status and overdraft, then writes the
entry, its postings with balance-after snapshots, and the new running totals.
Concurrency model: READ COMMITTED plus row locks (docs/ledger.md).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import asyncpg

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
    PostingDraft,
    Purpose,
    Side,
    normal_balance,
)
from wallet.money import Currency, Money

_TOTALS = "posted_debits, posted_credits, pending_debits, pending_credits"
# The columns `ledger_account` and the view `ledger_balance` share.
_BALANCE_COLUMNS = f"id, currency, normal_side, no_overdraft, status, hot, {_TOTALS}"
# Read from the view, whose `available` column is the one definition (migration 0044).
_VIEW_COLUMNS = f"{_BALANCE_COLUMNS}, available"
# Read from a locked `ledger_account` row (exact totals once a hot one is rolled up).
_LOCKED_COLUMNS = f"{_BALANCE_COLUMNS}, ledger_available(normal_side, {_TOTALS}) AS available"


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
    hot: bool = False,
) -> int:
    """Create the (owner, currency, purpose) account, or return the existing one's id.

    An existing account is found without locking its row: rows are locked only by
    posting, in ascending id order, and a lock taken here first would be out of that
    order (two transfers in opposite directions deadlocked on it). A `hot` account
    takes deferred postings (docs/ledger.md)."""
    code = account_code(owner_type, owner_id, currency, purpose)
    found = await conn.fetchval("SELECT id FROM ledger_account WHERE code = $1", code)
    if found is not None:
        return int(found)
    created = await conn.fetchval(
        """
        INSERT INTO ledger_account (code, owner_type, owner_id, currency, purpose,
                                    account_type, normal_side, no_overdraft, hot)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
        ON CONFLICT (code) DO NOTHING
        RETURNING id
        """,
        code,
        owner_type.value,
        owner_id,
        currency.value,
        purpose,
        account_type.value,
        account_type.normal_side.value,
        no_overdraft,
        hot,
    )
    if created is None:  # opened meanwhile by a transaction that has committed since
        created = await conn.fetchval("SELECT id FROM ledger_account WHERE code = $1", code)
    assert created is not None
    return int(created)


async def find_accounts(
    conn: Connection, owner_type: OwnerType, owner_ids: list[int], currency: Currency, purpose: str
) -> dict[int, int]:
    """Owner id -> account id of each owner's (currency, purpose) account that is not
    closed (a closed account holds nothing and takes nothing)."""
    codes = [account_code(owner_type, o, currency, purpose) for o in owner_ids]
    rows = await conn.fetch(
        "SELECT owner_id, id FROM ledger_account WHERE code = ANY($1::text[]) "
        "AND status <> 'closed'",
        codes,
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
    available: int  # `ledger_available` of the locked row (migration 0044)

    @property
    def posted(self) -> int:
        return normal_balance(self.normal_side, self.posted_debits, self.posted_credits)


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
    """Lock the rows in ascending id order; hot ones are rolled up so totals are exact."""
    sql = (
        f"SELECT {_LOCKED_COLUMNS} FROM ledger_account "  # noqa: S608 (constant columns)
        "WHERE id = ANY($1::bigint[]) ORDER BY id FOR NO KEY UPDATE"
    )
    rows = await conn.fetch(sql, account_ids)
    hot = [int(r["id"]) for r in rows if r["hot"]]
    if hot:
        await conn.execute("SELECT ledger_roll_up_locked(x) FROM unnest($1::bigint[]) x", hot)
        rows = await conn.fetch(sql, account_ids)
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
            available=r["available"],
        )
        for r in rows
    }
    missing = [a for a in account_ids if a not in locked]
    if missing:
        raise AccountNotFound(missing)
    return locked


async def post_entry(conn: Connection, draft: EntryDraft) -> int:
    """Post a balanced journal entry in the caller's transaction; return its id.

    One call to `ledger_post_entry` (migrations/sql/0004_hot_accounts.sql) locks what
    must be locked, checks status, currency and overdraft, and writes the entry, its
    postings with snapshots and the new totals; refusals come back as typed errors.
    """
    _validate(draft)
    try:
        entry_id = await conn.fetchval(
            "SELECT ledger_post_entry($1, $2, $3::bigint[], $4::char(1)[], $5::bigint[], "
            "$6::char(3)[])",
            draft.kind,
            draft.description,
            [p.account_id for p in draft.postings],
            [p.side.value for p in draft.postings],
            [p.amount.amount_minor for p in draft.postings],
            [p.amount.currency.value for p in draft.postings],
        )
    except asyncpg.PostgresError as exc:
        raise _refusal(exc) from None
    return int(entry_id)


@dataclass(frozen=True, slots=True)
class Transfer:
    """One two-legged movement of a batch: `amount` from `debit` to `credit`."""

    debit: int
    credit: int
    amount: Money
    description: str = ""


async def post_transfers(conn: Connection, kind: str, transfers: Sequence[Transfer]) -> list[int]:
    """Post one two-legged entry per transfer, in order, in one round trip; their ids.

    `ledger_post_transfers` (migrations/sql/0045_ledger_post_transfers.sql, its reads
    bounded to the touched accounts by 0046) writes them set-based when every account
    is an active wallet and no hot account is debited, and otherwise calls
    `ledger_post_entry` for each; either way every entry gets the same locks, checks
    and snapshots as one posted alone, and a later entry sees the earlier ones' totals.
    A refusal refuses them all (the caller decided them beforehand on a locked snapshot).
    """
    for t in transfers:
        _validate(EntryDraft.transfer(kind, t.debit, t.credit, t.amount, t.description))
    try:
        ids = await conn.fetchval(
            "SELECT ledger_post_transfers($1, $2::text[], $3::bigint[], $4::bigint[], "
            "$5::bigint[], $6::char(3)[])",
            kind,
            [t.description for t in transfers],
            [t.debit for t in transfers],
            [t.credit for t in transfers],
            [t.amount.amount_minor for t in transfers],
            [t.amount.currency.value for t in transfers],
        )
    except asyncpg.PostgresError as exc:
        raise _refusal(exc) from None
    return [int(i) for i in ids]


@dataclass(frozen=True, slots=True)
class AccountState:
    """An account as a batch sees it under its lock (hot accounts are not locked)."""

    id: int
    owner_id: int
    currency: Currency
    status: str
    hot: bool
    no_overdraft: bool
    available: int  # on the normal side, less what pending movements reserve


async def lock_accounts_by_code(conn: Connection, codes: Sequence[str]) -> dict[str, AccountState]:
    """Lock the accounts with these codes that are not hot, in ascending id order (the
    order `ledger_post_entry` locks in), and return every one found, by code."""
    # One statement: the ordinary accounts locked in id order, the hot ones only read
    # (credits to them are deferred and take no lock).
    columns = f"code, owner_id, {_LOCKED_COLUMNS}"
    rows = await conn.fetch(
        f"WITH locked AS (SELECT {columns} FROM ledger_account "  # noqa: S608 (constants)
        "WHERE code = ANY($1::text[]) AND NOT hot ORDER BY id FOR NO KEY UPDATE) "
        f"SELECT * FROM locked UNION ALL SELECT {columns} FROM ledger_account "
        "WHERE code = ANY($1::text[]) AND hot",
        list(codes),
    )
    return {
        r["code"]: AccountState(
            id=int(r["id"]),
            owner_id=int(r["owner_id"]),
            currency=Currency(r["currency"]),
            status=r["status"],
            hot=r["hot"],
            no_overdraft=r["no_overdraft"],
            available=int(r["available"]),
        )
        for r in rows
    }


async def owners_worth(
    conn: Connection, owner_type: OwnerType, owner_ids: Sequence[int]
) -> dict[int, dict[int, Money]]:
    """What the platform owes each owner, per liability account (wallet balances,
    savings vaults, points): posted plus what is on its way in, queued hot-account
    credits included. Owner -> account id -> worth."""
    rows = await conn.fetch(
        f"SELECT owner_id, {_VIEW_COLUMNS} FROM ledger_balance "  # noqa: S608 (constant columns)
        "WHERE owner_type = $1 AND owner_id = ANY($2::bigint[]) AND account_type = 'liability'",
        owner_type.value,
        list(owner_ids),
    )
    found: dict[int, dict[int, Money]] = {o: {} for o in owner_ids}
    for r in rows:
        b = _balance(r)
        found[int(r["owner_id"])][b.account_id] = Money(b.worth, b.currency)
    return found


def _refusal(exc: asyncpg.PostgresError) -> Exception:
    """The ledger error a `ledger_post_entry` refusal stands for (others pass through)."""
    state = getattr(exc, "sqlstate", None)
    if state not in {"WL001", "WL002", "WL003", "WL004"}:
        return cast(Exception, exc)
    detail = json.loads(getattr(exc, "detail", None) or "{}")
    if state == "WL001":
        return InsufficientFunds(detail["account_id"], detail["available"], detail["requested"])
    if state == "WL002":
        return AccountNotActive(detail["account_id"], detail["status"])
    if state == "WL003":
        return CurrencyMismatchInEntry(
            detail["account_id"], detail["account_currency"], detail["posting_currency"]
        )
    return AccountNotFound(list(detail.get("account_ids") or []))


async def roll_up_hot_accounts(conn: Connection) -> int:
    """Fold queued postings of hot accounts into their totals (worker job)."""
    moved = await conn.fetchval(
        "SELECT coalesce(sum(ledger_roll_up(account_id)), 0) FROM "
        "(SELECT DISTINCT account_id FROM ledger_account_delta) queued"
    )
    return int(moved)


async def set_hot(conn: Connection, account_id: int, hot: bool) -> None:
    """Mark an account hot (deferred postings) or not; a cooled account is rolled up first."""
    await conn.execute("SELECT 1 FROM ledger_account WHERE id = $1 FOR NO KEY UPDATE", account_id)
    if not hot:
        await conn.execute("SELECT ledger_roll_up_locked($1)", account_id)
    await conn.execute("UPDATE ledger_account SET hot = $2 WHERE id = $1", account_id, hot)


def _balance(row: Any) -> Balance:
    return Balance(
        account_id=int(row["id"]),
        currency=Currency(row["currency"]),
        normal_side=Side(row["normal_side"]),
        posted_debits=row["posted_debits"],
        posted_credits=row["posted_credits"],
        pending_debits=row["pending_debits"],
        pending_credits=row["pending_credits"],
        available=row["available"],
    )


async def balances_of_owner(
    conn: Connection, owner_type: OwnerType, owner_id: int, purpose: str
) -> list[Balance]:
    """The owner's open accounts of `purpose` (closed ones hold nothing), by currency."""
    rows = await conn.fetch(
        f"SELECT {_VIEW_COLUMNS} FROM ledger_balance "  # noqa: S608 (constant columns)
        "WHERE owner_type = $1 AND owner_id = $2 AND purpose = $3 AND status <> 'closed' "
        "ORDER BY currency",
        owner_type.value,
        owner_id,
        purpose,
    )
    return [_balance(r) for r in rows]


@dataclass(frozen=True, slots=True)
class Flow:
    """Money into and out of an owner's accounts of one currency over a period."""

    money_in: Money
    money_out: Money


async def owners_with_postings(
    conn: Connection, owner_type: OwnerType, purpose: str, since: datetime, until: datetime
) -> list[int]:
    """Owners with a posting on an account of `purpose` in [since, until)."""
    rows = await conn.fetch(
        "SELECT DISTINCT a.owner_id FROM posting p JOIN ledger_account a ON a.id = p.account_id "
        "WHERE a.owner_type = $1 AND a.purpose = $2 "
        "AND p.created_at >= $3 AND p.created_at < $4 ORDER BY a.owner_id",
        owner_type.value,
        purpose,
        since,
        until,
    )
    return [int(r["owner_id"]) for r in rows]


async def owner_flows(
    conn: Connection,
    owner_type: OwnerType,
    owner_id: int,
    purpose: str,
    since: datetime,
    until: datetime,
) -> list[Flow]:
    """Per currency, what was credited to (in) and debited from (out) the owner's
    liability accounts of `purpose` in [since, until), from the postings."""
    rows = await conn.fetch(
        "SELECT p.currency, "
        "       coalesce(sum(p.amount) FILTER (WHERE p.side = 'C'), 0) AS credited, "
        "       coalesce(sum(p.amount) FILTER (WHERE p.side = 'D'), 0) AS debited "
        "FROM posting p JOIN ledger_account a ON a.id = p.account_id "
        "WHERE a.owner_type = $1 AND a.owner_id = $2 AND a.purpose = $3 "
        "AND a.account_type = 'liability' AND p.created_at >= $4 AND p.created_at < $5 "
        "GROUP BY p.currency ORDER BY p.currency",
        owner_type.value,
        owner_id,
        purpose,
        since,
        until,
    )
    return [
        Flow(
            Money(int(r["credited"]), Currency(r["currency"].strip())),
            Money(int(r["debited"]), Currency(r["currency"].strip())),
        )
        for r in rows
    ]


async def balance(conn: Connection, account_id: int) -> Balance:
    row = await conn.fetchrow(
        f"SELECT {_VIEW_COLUMNS} FROM ledger_balance WHERE id = $1",  # noqa: S608
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
        f"SELECT {_VIEW_COLUMNS}, code, purpose, account_type FROM ledger_balance "  # noqa: S608
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


# Reads and status changes other domains ask of the ledger (issue 15: the ledger owns
# its tables; `tests/unit/test_ledger_owns_its_tables.py` fails on SQL naming them
# anywhere else).


async def balance_of(
    conn: Connection, owner_type: OwnerType, owner_id: int | None, currency: Currency, purpose: str
) -> Balance | None:
    """The (owner, currency, purpose) account's balance, closed or not; None if it has
    never been opened."""
    row = await conn.fetchrow(
        f"SELECT {_VIEW_COLUMNS} FROM ledger_balance WHERE code = $1",  # noqa: S608
        account_code(owner_type, owner_id, currency, purpose),
    )
    return None if row is None else _balance(row)


async def customer_money(conn: Connection) -> dict[Currency, int]:
    """Customer money held: the posted balances of every user wallet account, summed by
    currency (minor units; the figure safeguarding must match)."""
    rows = await conn.fetch(
        "SELECT currency, sum(posted_credits - posted_debits)::bigint AS held "
        "FROM ledger_balance WHERE owner_type = 'user' AND purpose = $1 "
        "GROUP BY currency ORDER BY currency",
        Purpose.WALLET,
    )
    return {Currency(r["currency"]): int(r["held"]) for r in rows}


async def customer_money_at(conn: Connection, currency: Currency, before: datetime) -> int:
    """Customer money held at `before`, from postings (not today's totals): every user and
    merchant liability account (wallets, vaults, payables), in minor units."""
    held = await conn.fetchval(
        "SELECT coalesce(sum(CASE WHEN p.side = 'C' THEN p.amount ELSE -p.amount END), 0) "
        "FROM posting p JOIN ledger_account a ON a.id = p.account_id "
        "WHERE a.owner_type IN ('user', 'merchant') AND a.account_type = 'liability' "
        "AND p.currency = $1 AND p.created_at < $2",
        currency.value,
        before,
    )
    return int(held)


async def account_states(
    conn: Connection, account_ids: list[int]
) -> dict[int, tuple[Currency, AccountStatus]]:
    """Account id -> (currency, status), for the given accounts (unknown ids left out)."""
    rows = await conn.fetch(
        "SELECT id, currency, status FROM ledger_account WHERE id = ANY($1::bigint[])",
        account_ids,
    )
    return {int(r["id"]): (Currency(r["currency"]), AccountStatus(r["status"])) for r in rows}


async def balances(conn: Connection, account_ids: list[int]) -> dict[int, Balance]:
    """Account id -> balance, for the given accounts (unknown ids are left out)."""
    rows = await conn.fetch(
        f"SELECT {_VIEW_COLUMNS} FROM ledger_balance "  # noqa: S608 (constant columns)
        "WHERE id = ANY($1::bigint[])",
        account_ids,
    )
    return {int(r["id"]): _balance(r) for r in rows}


@dataclass(frozen=True, slots=True)
class OwnedAccount:
    """One of an owner's accounts, whatever its purpose and status, with its balance."""

    purpose: str
    account_type: AccountType
    status: str
    balance: Balance


async def accounts_of_owner(
    conn: Connection, owner_type: OwnerType, owner_id: int
) -> list[OwnedAccount]:
    """Every account of the owner, closed ones too, by purpose and currency."""
    rows = await conn.fetch(
        f"SELECT {_VIEW_COLUMNS}, purpose, account_type FROM ledger_balance "  # noqa: S608
        "WHERE owner_type = $1 AND owner_id = $2 ORDER BY purpose, currency",
        owner_type.value,
        owner_id,
    )
    return [
        OwnedAccount(r["purpose"], AccountType(r["account_type"]), r["status"], _balance(r))
        for r in rows
    ]


async def owner_worth(conn: Connection, owner_type: OwnerType, owner_id: int) -> list[Money]:
    """What the platform owes the owner, per liability account (`owners_worth`)."""
    return list((await owners_worth(conn, owner_type, [owner_id]))[owner_id].values())


async def currencies_of(
    conn: Connection, owner_type: OwnerType, owner_id: int, purpose: str
) -> list[Currency]:
    """The currencies the owner has a `purpose` account in, closed ones too."""
    rows = await conn.fetch(
        "SELECT currency FROM ledger_account WHERE owner_type = $1 AND owner_id = $2 "
        "AND purpose = $3 ORDER BY currency",
        owner_type.value,
        owner_id,
        purpose,
    )
    return [Currency(r["currency"]) for r in rows]


async def open_account_ids(
    conn: Connection, owner_type: OwnerType, owner_id: int, purpose: str
) -> list[int]:
    """The ids of the owner's `purpose` accounts that are not closed, ascending."""
    rows = await conn.fetch(
        "SELECT id FROM ledger_account WHERE owner_type = $1 AND owner_id = $2 "
        "AND purpose = $3 AND status <> 'closed' ORDER BY id",
        owner_type.value,
        owner_id,
        purpose,
    )
    return [int(r["id"]) for r in rows]


async def account_ids_by_code(conn: Connection, codes: list[str]) -> dict[str, int]:
    """Code -> id of the accounts that exist among `codes`."""
    rows = await conn.fetch(
        "SELECT code, id FROM ledger_account WHERE code = ANY($1::text[])", codes
    )
    return {r["code"]: int(r["id"]) for r in rows}


async def reopen_account(conn: Connection, account_id: int) -> None:
    """Make a closed account active again (money arriving in its currency reopens it).

    The status is read first: the UPDATE would lock the row, and a lock taken here,
    outside `post_entry`, would be out of the ledger's id order; most calls find it
    open and take no lock."""
    status = await conn.fetchval("SELECT status FROM ledger_account WHERE id = $1", account_id)
    if status == "closed":
        await conn.execute(
            "UPDATE ledger_account SET status = 'active' WHERE id = $1 AND status = 'closed'",
            account_id,
        )


async def close_account(conn: Connection, account_id: int) -> None:
    """Close the account (it takes nothing more); the caller has checked it is empty."""
    await conn.execute("UPDATE ledger_account SET status = 'closed' WHERE id = $1", account_id)


async def close_owner_accounts(conn: Connection, owner_type: OwnerType, owner_id: int) -> None:
    """Close every account of the owner (erasure; the caller has checked they are empty)."""
    await conn.execute(
        "UPDATE ledger_account SET status = 'closed' WHERE owner_type = $1 AND owner_id = $2",
        owner_type.value,
        owner_id,
    )


async def entry_postings(conn: Connection, entry_id: int) -> list[PostingDraft]:
    """The postings of a journal entry, in the order they were written (from the months
    they can be in: the entry's and the next, migrations/sql/0050)."""
    rows = await conn.fetch(
        "SELECT account_id, side, amount, currency FROM posting WHERE entry_id = $1 "
        "AND id >= history_window_start($1) AND id < history_window_end($1) ORDER BY id",
        entry_id,
    )
    return [
        PostingDraft(
            int(r["account_id"]), Side(r["side"]), Money(int(r["amount"]), Currency(r["currency"]))
        )
        for r in rows
    ]
