"""Reading an account's balance chain: its postings by ledger position, and cuts.

A posting's position is its place in its account's chain (1, 2, 3 ...), given under the
account's lock when it hit the balance, with the time it did (`posted_at`); migration
0034 and docs/ledger.md, "Ledger positions and statements", say why this order is the
truth under concurrency and posting ids are not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from wallet.db.engine import Connection
from wallet.ledger.errors import AccountNotFound
from wallet.money import Currency, Money


@dataclass(frozen=True, slots=True)
class ChainPosting:
    """One posting as it hit its account: the signed amount (+ raises the balance on
    the account's normal side) and the balance right after it."""

    position: int
    posted_at: datetime
    entry_id: int
    entry_kind: str
    amount: Money
    balance_after: Money


@dataclass(frozen=True, slots=True)
class Cut:
    """Where an account's chain stood at `at`: positions up to `position` are
    committed, and any posting after it has a later position and a later time."""

    account_id: int
    code: str
    currency: Currency
    position: int
    at: datetime


@dataclass(frozen=True, slots=True)
class Window:
    """The postings of an account with `start <= posted_at < end` up to a position, and
    the balance before the first of them."""

    opening: Money
    postings: list[ChainPosting]


class ChainBroken(Exception):
    """A stored balance is not the one before plus the posting: the ledger is corrupt
    (the `posting_chain` check reports it too); no statement is made from it."""

    def __init__(self, account_id: int, position: int) -> None:
        super().__init__(f"account {account_id}: the chain breaks at position {position}")
        self.account_id = account_id
        self.position = position


async def cut(conn: Connection, account_ids: list[int]) -> dict[int, Cut]:
    """Cut the accounts' chains now, in the caller's (short) transaction.

    Each row is locked as the write path locks it (ascending id), so a transaction that
    was writing to the account has committed and any later one gets a later time; a hot
    account is rolled up first, so its committed credits are in the chain."""
    rows = await conn.fetch(
        "SELECT id, hot FROM ledger_account WHERE id = ANY($1::bigint[]) ORDER BY id "
        "FOR NO KEY UPDATE",
        account_ids,
    )
    if len(rows) != len(set(account_ids)):
        raise AccountNotFound([a for a in account_ids if a not in {r["id"] for r in rows}])
    hot = [int(r["id"]) for r in rows if r["hot"]]
    if hot:
        await conn.execute("SELECT ledger_roll_up_locked(x) FROM unnest($1::bigint[]) x", hot)
    cuts = await conn.fetch(
        "SELECT id, code, currency, last_seq, clock_timestamp() AS at FROM ledger_account "
        "WHERE id = ANY($1::bigint[])",
        account_ids,
    )
    return {
        int(r["id"]): Cut(
            int(r["id"]), r["code"], Currency(r["currency"]), int(r["last_seq"]), r["at"]
        )
        for r in cuts
    }


async def last_position(conn: Connection, account_id: int) -> int:
    """The account's last committed position (0 before its first posting)."""
    found = await conn.fetchval("SELECT last_seq FROM ledger_account WHERE id = $1", account_id)
    if found is None:
        raise AccountNotFound([account_id])
    return int(found)


_WINDOW_SQL = """
SELECT c.account_seq, c.posted_at, c.entry_id, e.kind,
       CASE WHEN c.side = a.normal_side THEN c.amount ELSE -c.amount END AS delta,
       c.balance_after
FROM ledger_chain c
JOIN ledger_account a ON a.id = c.account_id
JOIN journal_entry e ON e.id = c.entry_id
WHERE c.account_id = $1 AND c.posted_at >= $2 AND c.posted_at < $3 AND c.account_seq <= $4
ORDER BY c.account_seq
"""
_OPENING_SQL = """
SELECT balance_after FROM ledger_chain
WHERE account_id = $1 AND posted_at < $2 AND account_seq <= $3
ORDER BY posted_at DESC, account_seq DESC LIMIT 1
"""


async def window(
    conn: Connection,
    account_id: int,
    currency: Currency,
    start: datetime,
    end: datetime,
    upto: int,
) -> Window:
    """The chain of `account_id` in [start, end) up to position `upto`, checked link by
    link (raises `ChainBroken`)."""
    opening = await conn.fetchval(_OPENING_SQL, account_id, start, upto)
    rows = await conn.fetch(_WINDOW_SQL, account_id, start, end, upto)
    running = int(opening or 0)
    postings = []
    for r in rows:
        running += int(r["delta"])
        if running != int(r["balance_after"]):
            raise ChainBroken(account_id, int(r["account_seq"]))
        postings.append(
            ChainPosting(
                position=int(r["account_seq"]),
                posted_at=r["posted_at"],
                entry_id=int(r["entry_id"]),
                entry_kind=r["kind"],
                amount=Money(int(r["delta"]), currency),
                balance_after=Money(running, currency),
            )
        )
    return Window(Money(int(opening or 0), currency), postings)


@dataclass(frozen=True, slots=True)
class ChainAccount:
    id: int
    code: str


async def accounts_of(
    conn: Connection, owner_type: str, owner_id: int, purpose: str
) -> dict[Currency, ChainAccount]:
    """Currency -> every (owner, purpose) account, closed ones too: a closed balance
    still has a history."""
    rows = await conn.fetch(
        "SELECT id, code, currency FROM ledger_account "
        "WHERE owner_type = $1 AND owner_id = $2 AND purpose = $3 ORDER BY currency",
        owner_type,
        owner_id,
        purpose,
    )
    return {Currency(r["currency"]): ChainAccount(int(r["id"]), r["code"]) for r in rows}
