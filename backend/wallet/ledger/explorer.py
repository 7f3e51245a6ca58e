"""The ledger as operators explore it (issue 16, the operator console): accounts with
their balances, journal entries searched and paged, and an account's statement over a
period, cut from its postings.

Read-only. It names no other domain's table: what a business transaction or an owner's
name adds to an entry or an account, the caller looks up in that domain.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from wallet.db.engine import Connection
from wallet.ledger import chain
from wallet.ledger import service as ledger
from wallet.ledger.books import InvalidPeriod
from wallet.ledger.models import AccountType, Balance, OwnerType, Side
from wallet.money import Currency, Money

MAX_ACCOUNTS = 200
MAX_ENTRIES = 200
MAX_STATEMENT_LINES = 1000


def _bounded(first: int, most: int) -> int:
    return max(1, min(first, most))


def _contains(text: str) -> str:
    """An ILIKE pattern matching `text` anywhere, its wildcards taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def day_bounds(first: date | None, last: date | None) -> tuple[datetime | None, datetime | None]:
    """[start, end) of the UTC days `first` to `last`, both included; None where open.
    (`last` at the calendar's end leaves the end open.)"""
    start = None if first is None else datetime.combine(first, time.min, UTC)
    end = (
        None
        if last is None or last >= date.max
        else datetime.combine(last + timedelta(days=1), time.min, UTC)
    )
    return start, end


def statement_period(
    first: date | None, last: date | None
) -> tuple[datetime | None, datetime | None]:
    """`day_bounds` of a statement's period, which may not end before it starts."""
    if first is not None and last is not None and first > last:
        raise InvalidPeriod("from", "The period starts after it ends")
    return day_bounds(first, last)


class _Args:
    """Numbered parameters for a statement built from the filters present (a fixed
    text per combination, so each plan fits its filters)."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def __call__(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


# One account's chain (what the view `ledger_chain` unions: the postings that took
# their position themselves, and the snapshots a hot account's roll-up gave the others),
# as one ordered index walk per half. The planner cannot walk the view in order: it
# would read every posting of the account in range, then sort.
_HALVES = (
    ("posting p", "p"),
    ("posting_snapshot s JOIN posting p ON p.id = s.posting_id", "s"),
)


def _walk(
    select: str, where: Sequence[str], limit: str, *, newest_first: bool, joins: str = ""
) -> str:
    """A query over one account's chain: each half walked in position order
    (`posting_chain_idx`, `posting_snapshot_chain_idx`: by time, then position) and cut
    to `limit`, then the two merged in that order and cut again. In the fragments,
    `{k}` names the row that holds the position (the posting or its snapshot) and `p`
    the posting; the result has `select`'s columns plus `at_` and `seq_`."""
    direction = "DESC" if newest_first else "ASC"
    halves = []
    for source, k in _HALVES:
        conditions = " AND ".join(
            c.replace("{k}", k) for c in ("{k}.account_seq IS NOT NULL", *where)
        )
        halves.append(
            f"(SELECT {select.replace('{k}', k)}, {k}.posted_at AS at_, "  # noqa: S608
            f"{k}.account_seq AS seq_ FROM {source} {joins} WHERE {conditions} "
            f"ORDER BY {k}.posted_at {direction}, {k}.account_seq {direction} LIMIT {limit})"
        )
    return (
        f"SELECT * FROM ({' UNION ALL '.join(halves)}) chain "  # noqa: S608 (constant fragments)
        f"ORDER BY at_ {direction}, seq_ {direction} LIMIT {limit}"
    )


# --- accounts -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExplorerAccount:
    id: int
    code: str
    owner_type: OwnerType
    owner_id: int | None
    purpose: str
    account_type: AccountType
    status: str
    balance: Balance

    @property
    def posted(self) -> Money:
        """The posted balance on the account's normal side."""
        return Money(self.balance.posted, self.balance.currency)


async def accounts(
    conn: Connection,
    *,
    code_contains: str | None = None,
    users: Sequence[int] = (),
    owner_type: OwnerType | None = None,
    first: int = 50,
) -> list[ExplorerAccount]:
    """Accounts by code, with their balances: those whose code contains `code_contains`
    or that belong to one of `users` (when either is given), of `owner_type` if given.
    Every owner's accounts, the customers' and merchants' too."""
    arg = _Args()
    where = []
    if code_contains or users:
        matches = []
        if code_contains:
            matches.append(f"code ILIKE {arg(_contains(code_contains))}")
        if users:
            matches.append(
                f"(owner_type = 'user' AND owner_id = ANY({arg(list(users))}::bigint[]))"
            )
        where.append(f"({' OR '.join(matches)})")
    if owner_type is not None:
        where.append(f"owner_type = {arg(owner_type.value)}")
    rows = await conn.fetch(
        "SELECT id, code, owner_type, owner_id, purpose, account_type, status "  # noqa: S608
        f"FROM ledger_account {'WHERE ' + ' AND '.join(where) if where else ''} "
        f"ORDER BY code LIMIT {arg(_bounded(first, MAX_ACCOUNTS))}",
        *arg.values,
    )
    found = await ledger.balances(conn, [int(r["id"]) for r in rows])
    return [
        ExplorerAccount(
            id=int(r["id"]),
            code=r["code"],
            owner_type=OwnerType(r["owner_type"]),
            owner_id=None if r["owner_id"] is None else int(r["owner_id"]),
            purpose=r["purpose"],
            account_type=AccountType(r["account_type"]),
            status=r["status"],
            balance=found[int(r["id"])],
        )
        for r in rows
    ]


# --- journal entries ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EntryPosting:
    id: int
    account_id: int
    account_code: str
    side: Side
    amount: Money


@dataclass(frozen=True, slots=True)
class Entry:
    id: int
    kind: str
    description: str
    created_at: datetime
    reverses_id: int | None
    postings: tuple[EntryPosting, ...]


@dataclass(frozen=True, slots=True)
class EntrySearch:
    """Which entries, newest first. Every filter given must hold. `among` keeps only
    those entries (a transaction's); `matching_entries` and `description_contains`
    together are one filter: either holds (a reference: the entries of the transaction
    with that gateway reference, or a description that contains it)."""

    account_id: int | None = None
    among: tuple[int, ...] | None = None
    matching_entries: tuple[int, ...] = ()
    description_contains: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    kind: str | None = None
    first: int = 50
    after: int | None = None  # the last entry of the previous page

    @property
    def matches_nothing(self) -> bool:
        return self.among is not None and not self.among


_ENTRY_COLUMNS = "e.id, e.kind, e.description, e.created_at, e.reverses_id"


# Where an entry stands in an account's chain: its last posting to the account.
_POSITION = """
SELECT posted_at, account_seq FROM ledger_chain WHERE entry_id = $1 AND account_id = $2
ORDER BY account_seq DESC LIMIT 1
"""


def _entry_query(
    search: EntrySearch, cursor: tuple[datetime, int] | None = None
) -> tuple[str, list[Any]]:
    """The page's entries. Without an account, down `journal_entry` by id. With one,
    down the account's chain by position, newest first (the order its postings hit the
    balance): an ordered walk of `posting_chain_idx`, and of `posting_snapshot_chain_idx`
    for what a hot account rolled up, each stopping after a page, reading no other
    account's postings. `cursor` is the position of the previous page's last entry, and
    the dates are when the postings hit the account."""
    arg = _Args()
    limit = arg(_bounded(search.first, MAX_ENTRIES))
    shared = []  # conditions on the entry, the same in every branch
    if search.among is not None:
        shared.append(f"e.id = ANY({arg(list(search.among))}::bigint[])")
    if search.description_contains is not None:
        either = [f"e.description ILIKE {arg(_contains(search.description_contains))}"]
        if search.matching_entries:
            either.append(f"e.id = ANY({arg(list(search.matching_entries))}::bigint[])")
        shared.append(f"({' OR '.join(either)})")
    elif search.matching_entries:
        shared.append(f"e.id = ANY({arg(list(search.matching_entries))}::bigint[])")
    if search.kind is not None:
        shared.append(f"e.kind = {arg(search.kind)}")
    start = None if search.start is None else arg(search.start)
    end = None if search.end is None else arg(search.end)

    def during(column: str) -> list[str]:
        bounds = []
        if start is not None:
            bounds.append(f"{column} >= {start}")
        if end is not None:
            bounds.append(f"{column} < {end}")
        return bounds

    if search.account_id is None:
        where = shared + during("e.created_at")
        if search.after is not None:
            where.append(f"e.id < {arg(search.after)}")
        sql = (
            f"SELECT {_ENTRY_COLUMNS} FROM journal_entry e "  # noqa: S608 (constant fragments)
            f"{'WHERE ' + ' AND '.join(where) if where else ''} ORDER BY e.id DESC LIMIT {limit}"
        )
        return sql, arg.values
    account = arg(search.account_id)
    where = [
        f"{{k}}.account_id = {account}",
        # One row per entry: its last posting to the account.
        "NOT EXISTS (SELECT 1 FROM posting q WHERE q.entry_id = p.entry_id "
        "AND q.account_id = p.account_id AND q.id > p.id)",
        *shared,
        *during("{k}.posted_at"),
    ]
    if cursor is not None:
        where.append(f"({{k}}.posted_at, {{k}}.account_seq) < ({arg(cursor[0])}, {arg(cursor[1])})")
    sql = _walk(
        _ENTRY_COLUMNS,
        where,
        limit,
        newest_first=True,
        joins="JOIN journal_entry e ON e.id = p.entry_id",
    )
    return sql, arg.values


async def _with_postings(conn: Connection, rows: Sequence[Any]) -> list[Entry]:
    postings = await conn.fetch(
        "SELECT p.id, p.entry_id, p.account_id, a.code, p.side, p.amount, p.currency "
        "FROM posting p JOIN ledger_account a ON a.id = p.account_id "
        "WHERE p.entry_id = ANY($1::bigint[]) ORDER BY p.entry_id, p.id",
        [int(r["id"]) for r in rows],
    )
    by_entry: dict[int, list[EntryPosting]] = {}
    for p in postings:
        by_entry.setdefault(int(p["entry_id"]), []).append(
            EntryPosting(
                id=int(p["id"]),
                account_id=int(p["account_id"]),
                account_code=p["code"],
                side=Side(p["side"]),
                amount=Money(int(p["amount"]), Currency(p["currency"])),
            )
        )
    return [
        Entry(
            id=int(r["id"]),
            kind=r["kind"],
            description=r["description"],
            created_at=r["created_at"],
            reverses_id=None if r["reverses_id"] is None else int(r["reverses_id"]),
            postings=tuple(by_entry.get(int(r["id"]), ())),
        )
        for r in rows
    ]


async def entries(conn: Connection, search: EntrySearch) -> list[Entry]:
    """A page of entries with their postings, newest first (two statements, three
    with an account and a cursor).

    With an account, only postings that have hit its balance count: a hot account's
    queued postings join its chain when the worker rolls it up (every second)."""
    if search.matches_nothing:
        return []
    cursor = None
    if search.account_id is not None and search.after is not None:
        found = await conn.fetchrow(_POSITION, search.after, search.account_id)
        if found is None:  # not an entry of this account: no page follows it
            return []
        cursor = (found["posted_at"], int(found["account_seq"]))
    sql, values = _entry_query(search, cursor)
    return await _with_postings(conn, await conn.fetch(sql, *values))


async def entry(conn: Connection, entry_id: int) -> Entry | None:
    rows = await conn.fetch(
        f"SELECT {_ENTRY_COLUMNS} FROM journal_entry e WHERE e.id = $1",  # noqa: S608
        entry_id,
    )
    found = await _with_postings(conn, rows)
    return found[0] if found else None


# --- an account's statement ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One posting as it hit the account: its place in the account's chain, the entry,
    the side and amount, and the balance right after it (on the normal side)."""

    position: int
    entry_id: int
    kind: str
    description: str
    side: Side
    amount: Money
    balance_after: Money
    created_at: datetime  # the entry's
    posted_at: datetime  # when it hit the balance (what the period is cut by)


@dataclass(frozen=True, slots=True)
class AccountStatement:
    account_id: int
    code: str
    currency: Currency
    normal_side: Side
    start: datetime | None
    end: datetime | None
    position: int  # the account's last position when the statement was cut
    opening: Money  # the balance before `start`
    lines: tuple[StatementLine, ...]
    closing: Money  # the balance at `end` (or at the cut)
    complete: bool  # False when `first` stopped the lines short of `end`


# The balance after the account's last position before $2, up to position $3.
_BALANCE_BEFORE = _walk(
    "{k}.balance_after",
    ["{k}.account_id = $1", "{k}.posted_at < $2", "{k}.account_seq <= $3"],
    "1",
    newest_first=True,
)
# The postings in [$2, $3) up to position $4, the first $5 of them.
_LINES = _walk(
    "{k}.account_seq, p.entry_id, e.kind, e.description, p.side, p.amount, "
    "{k}.balance_after, e.created_at, {k}.posted_at",
    [
        "{k}.account_id = $1",
        "{k}.posted_at >= $2",
        "{k}.posted_at < $3",
        "{k}.account_seq <= $4",
    ],
    "$5",
    newest_first=False,
    joins="JOIN journal_entry e ON e.id = p.entry_id",
)
# The open ends of a period, as instants the chain index can range over.
_BEGINNING = datetime(1970, 1, 1, tzinfo=UTC)
_END_OF_TIME = datetime(9999, 12, 31, tzinfo=UTC)


async def _balance_before(conn: Connection, account_id: int, at: datetime, upto: int) -> int:
    return int(await conn.fetchval(_BALANCE_BEFORE, account_id, at, upto) or 0)


async def statement(
    conn: Connection,
    account_id: int,
    start: datetime | None,
    end: datetime | None,
    first: int = 200,
) -> AccountStatement:
    """The account's postings in [start, end) by position, from the balance before the
    first to the balance after the last: point in time, from each posting's stored
    balance-after (checked link by link, `chain.ChainBroken`), not from today's totals.

    Cut first (`chain.cut`, which takes the account's row lock for a moment and rolls a
    hot account up), so the statement holds every committed posting and none later;
    `conn` must be in a transaction. Raises `AccountNotFound`."""
    cut = (await chain.cut(conn, [account_id]))[account_id]
    side = Side(
        await conn.fetchval("SELECT normal_side FROM ledger_account WHERE id = $1", account_id)
    )
    lower, upper = start or _BEGINNING, end or _END_OF_TIME
    opening = 0 if start is None else await _balance_before(conn, account_id, lower, cut.position)
    limit = _bounded(first, MAX_STATEMENT_LINES)
    rows = await conn.fetch(_LINES, account_id, lower, upper, cut.position, limit + 1)
    running = opening
    lines = []
    for r in rows[:limit]:
        amount = int(r["amount"])
        running += amount if r["side"] == side.value else -amount
        if running != int(r["balance_after"]):
            raise chain.ChainBroken(account_id, int(r["account_seq"]))
        lines.append(
            StatementLine(
                position=int(r["account_seq"]),
                entry_id=int(r["entry_id"]),
                kind=r["kind"],
                description=r["description"],
                side=Side(r["side"]),
                amount=Money(amount, cut.currency),
                balance_after=Money(running, cut.currency),
                created_at=r["created_at"],
                posted_at=r["posted_at"],
            )
        )
    closing = await _balance_before(conn, account_id, upper, cut.position)
    return AccountStatement(
        account_id=account_id,
        code=cut.code,
        currency=cut.currency,
        normal_side=side,
        start=start,
        end=end,
        position=cut.position,
        opening=Money(opening, cut.currency),
        lines=tuple(lines),
        closing=Money(closing, cut.currency),
        complete=len(rows) <= limit,
    )
