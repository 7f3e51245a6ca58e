"""The ledger checks of DESIGN.md §3, run after tests and by operators.

Each check returns the breaches it found; an empty report means the ledger is sound.
These read the ledger's own tables only. What a system account must hold because of
another domain's rows (escrow = pending marketplace sales, and so on) is checked by that
domain, through `system_account_breaches` and `holds.pending_amounts`; `wallet.checks`
runs them all.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from wallet.db.engine import Connection
from wallet.ledger.service import chart_of_accounts
from wallet.ledger.tables import LedgerCheckRun
from wallet.money import Currency


@dataclass(frozen=True, slots=True)
class Breach:
    check: str
    detail: str
    account_ids: tuple[int, ...] = ()


_CHECKS: dict[str, str] = {
    # Trial balance: per currency, all debits equal all credits.
    "trial_balance": """
        SELECT currency AS subject, NULL::bigint[] AS accounts,
               sum(posted_debits) - sum(posted_credits) AS delta
        FROM ledger_balance GROUP BY currency
        HAVING sum(posted_debits) <> sum(posted_credits)
    """,
    # Pending totals equal the pending holds against each account.
    "pending_matches_holds": """
        SELECT a.code AS subject, ARRAY[a.id] AS accounts,
               (a.pending_debits - coalesce(d.amount, 0))
               + (a.pending_credits - coalesce(c.amount, 0)) AS delta
        FROM ledger_account a
        LEFT JOIN (SELECT debit_account_id AS id, sum(amount) AS amount FROM ledger_hold
                   WHERE status = 'pending' GROUP BY 1) d ON d.id = a.id
        LEFT JOIN (SELECT credit_account_id AS id, sum(amount) AS amount FROM ledger_hold
                   WHERE status = 'pending' GROUP BY 1) c ON c.id = a.id
        WHERE a.pending_debits <> coalesce(d.amount, 0)
           OR a.pending_credits <> coalesce(c.amount, 0)
    """,
    # Every posting has its balance snapshot, unless it still waits in a hot account's queue.
    "posting_has_snapshot": """
        SELECT 'posting ' || p.id AS subject, ARRAY[p.account_id] AS accounts, 0::bigint AS delta
        FROM posting p
        WHERE p.balance_after IS NULL
          AND NOT EXISTS (SELECT 1 FROM posting_snapshot s WHERE s.posting_id = p.id)
          AND NOT EXISTS (SELECT 1 FROM ledger_account_delta d WHERE d.posting_id = p.id)
    """,
    # Every journal entry has postings.
    "entry_has_postings": """
        SELECT 'entry ' || e.id AS subject, NULL::bigint[] AS accounts, 0::bigint AS delta
        FROM journal_entry e
        WHERE NOT EXISTS (SELECT 1 FROM posting p WHERE p.entry_id = e.id)
    """,
}


def _per_account(accounts: str | None) -> dict[str, str]:
    """The checks that read each account against its postings: over every account, or
    only those whose ids `accounts` (a subquery) selects."""
    a_only = "TRUE" if accounts is None else f"a.id IN ({accounts})"
    p_only = "TRUE" if accounts is None else f"account_id IN ({accounts})"
    # Only a full run looks for postings with a balance but no position anywhere.
    unpositioned = (
        """
        UNION ALL
        SELECT 'posting ' || p.id || ' has a balance but no position', ARRAY[p.account_id], 0
        FROM posting p
        WHERE p.balance_after IS NOT NULL AND p.account_seq IS NULL"""
        if accounts is None
        else ""
    )
    return {
        # Each account's running totals equal the sum of its postings.
        "account_matches_postings": f"""
        SELECT a.code AS subject, ARRAY[a.id] AS accounts,
               (a.posted_debits - coalesce(p.debits, 0))
               + (a.posted_credits - coalesce(p.credits, 0)) AS delta
        FROM ledger_balance a
        LEFT JOIN (
            SELECT account_id,
                   sum(amount) FILTER (WHERE side = 'D') AS debits,
                   sum(amount) FILTER (WHERE side = 'C') AS credits
            FROM posting WHERE {p_only} GROUP BY account_id
        ) p ON p.account_id = a.id
        WHERE {a_only}
          AND (a.posted_debits <> coalesce(p.debits, 0)
               OR a.posted_credits <> coalesce(p.credits, 0))
    """,  # noqa: S608 (constant SQL)
        # No account that may not overdraw is below zero available (`ledger_available`,
        # migration 0044, the one definition, read through the view).
        "no_overdraft": f"""
        SELECT a.code AS subject, ARRAY[a.id] AS accounts, a.available AS delta
        FROM ledger_balance a
        WHERE {a_only} AND a.no_overdraft AND a.available < 0
    """,  # noqa: S608 (constant SQL)
        # Each account's chain (docs/ledger.md, "Ledger positions"): positions 1..last_seq,
        # every balance the one before plus the posting, times never going back, and no
        # posting with a balance but no position.
        "posting_chain": f"""
        WITH chain AS (
            SELECT c.account_id, c.account_seq, c.posted_at, c.balance_after,
                   CASE WHEN c.side = a.normal_side THEN c.amount ELSE -c.amount END AS delta,
                   row_number() OVER w AS n,
                   lag(c.balance_after, 1, 0::bigint) OVER w AS before,
                   lag(c.posted_at) OVER w AS previous_at
            FROM ledger_chain c JOIN ledger_account a ON a.id = c.account_id
            WHERE {a_only}
            WINDOW w AS (PARTITION BY c.account_id ORDER BY c.account_seq)
        )
        SELECT 'account ' || account_id || ' position ' || account_seq AS subject,
               ARRAY[account_id] AS accounts, balance_after - before - delta AS delta
        FROM chain
        WHERE account_seq <> n OR balance_after <> before + delta OR posted_at < previous_at
        UNION ALL
        SELECT 'account ' || a.id || ' ends at position ' || a.last_seq, ARRAY[a.id],
               a.last_seq - coalesce(c.n, 0)
        FROM ledger_account a
        LEFT JOIN (SELECT account_id, count(*) AS n FROM ledger_chain
                   WHERE {p_only} GROUP BY account_id) c
               ON c.account_id = a.id
        WHERE {a_only} AND a.last_seq <> coalesce(c.n, 0){unpositioned}
    """,  # noqa: S608 (constant SQL)
    }


_CHECKS.update(_per_account(None))


# The incremental variants (a scheduled run between nightly full ones): the same rules
# for the postings with ids in ($1, $2] and the accounts they touched, or the entries
# with ids in ($1, $2). Each reads the touched accounts' whole history, so a posting
# that committed late, below an earlier window, is still counted when its account moves
# again; the nightly full run covers the rest.
_TOUCHED = "SELECT DISTINCT account_id FROM posting WHERE id > $1 AND id <= $2"
_WINDOWED: dict[str, tuple[Literal["postings", "entries"], str]] = {
    "posting_has_snapshot": (
        "postings",
        """
        SELECT 'posting ' || p.id AS subject, ARRAY[p.account_id] AS accounts, 0::bigint AS delta
        FROM posting p
        WHERE p.id > $1 AND p.id <= $2 AND p.balance_after IS NULL
          AND NOT EXISTS (SELECT 1 FROM posting_snapshot s WHERE s.posting_id = p.id)
          AND NOT EXISTS (SELECT 1 FROM ledger_account_delta d WHERE d.posting_id = p.id)
    """,
    ),
    "entry_balanced": (
        "entries",
        """
        SELECT 'entry ' || entry_id || ' ' || currency AS subject, NULL::bigint[] AS accounts,
               sum(CASE side WHEN 'D' THEN amount ELSE -amount END) AS delta
        FROM posting WHERE entry_id > $1 AND entry_id <= $2
        GROUP BY entry_id, currency
        HAVING sum(CASE side WHEN 'D' THEN amount ELSE -amount END) <> 0
    """,
    ),
    "entry_has_postings": (
        "entries",
        """
        SELECT 'entry ' || e.id AS subject, NULL::bigint[] AS accounts, 0::bigint AS delta
        FROM journal_entry e
        WHERE e.id > $1 AND e.id <= $2
          AND NOT EXISTS (SELECT 1 FROM posting p WHERE p.entry_id = e.id)
    """,
    ),
}
_WINDOWED.update({name: ("postings", sql) for name, sql in _per_account(_TOUCHED).items()})
# Cheap whatever the ledger's size (a row per account or per pending hold): every run.
_EVERY_RUN = ("trial_balance", "pending_matches_holds")


@dataclass(frozen=True, slots=True)
class Window:
    """What a scheduled run checks: postings and entries with ids in (after, through]."""

    mode: Literal["incremental", "full"]
    after_posting: int
    through_posting: int
    after_entry: int
    through_entry: int


# How old the newest posting a run checks must be: a transaction still open below the
# newest id would otherwise slip behind the checkpoint.
SETTLE = timedelta(minutes=1)


async def window(
    conn: Connection, mode: Literal["incremental", "full"], settle: timedelta = SETTLE
) -> Window:
    """From the last clean run's checkpoint (nothing, for a full run) to the newest
    postings and entries older than `settle`."""
    row = await conn.fetchrow(
        "SELECT coalesce(max(id), 0) AS posting, coalesce(max(entry_id), 0) AS entry "
        "FROM posting WHERE created_at <= now() - $1::interval",
        settle,
    )
    assert row is not None
    through_posting, through_entry = int(row["posting"]), int(row["entry"])
    after_posting = after_entry = 0
    if mode == "incremental":
        clean = (
            await LedgerCheckRun.select(
                LedgerCheckRun.through_posting_id, LedgerCheckRun.through_entry_id
            )
            .where(LedgerCheckRun.breaches == 0)
            .order_by(LedgerCheckRun.id, ascending=False)
            .first()
        )
        if clean is not None:
            after_posting = int(clean["through_posting_id"])
            after_entry = int(clean["through_entry_id"])
    return Window(
        mode,
        after_posting,
        max(after_posting, through_posting),
        after_entry,
        max(after_entry, through_entry),
    )


async def check_window(conn: Connection, scope: Window) -> list[Breach]:
    """The ledger's invariants over `scope`: all of them for a full run, the windowed
    variants and the cheap whole-ledger ones for an incremental run."""
    if scope.mode == "full":
        return await check_ledger(conn)
    breaches = await _run(conn, {name: _CHECKS[name] for name in _EVERY_RUN})
    for name, (kind, sql) in _WINDOWED.items():
        bounds = (
            (scope.after_posting, scope.through_posting)
            if kind == "postings"
            else (scope.after_entry, scope.through_entry)
        )
        breaches += await _run(conn, {name: sql}, *bounds)
    return breaches


@dataclass(frozen=True, slots=True)
class CheckRun:
    id: int
    window: Window
    breaches: tuple[Breach, ...]
    started_at: datetime
    finished_at: datetime


# A run keeps the first breaches it found (the count is whole): enough to start from.
DETAILS_KEPT = 100


async def record_run(scope: Window, breaches: Sequence[Breach], started_at: datetime) -> CheckRun:
    """Keep the run's record (`ledger_check_run`, never changed afterwards)."""
    details = [
        {"check": b.check, "detail": b.detail, "account_ids": list(b.account_ids)}
        for b in breaches[:DETAILS_KEPT]
    ]
    [row] = await LedgerCheckRun.insert(
        LedgerCheckRun(
            mode=scope.mode,
            after_posting_id=scope.after_posting,
            through_posting_id=scope.through_posting,
            after_entry_id=scope.after_entry,
            through_entry_id=scope.through_entry,
            breaches=len(breaches),
            details=json.dumps(details),
            started_at=started_at,
        )
    ).returning(LedgerCheckRun.id, LedgerCheckRun.finished_at)
    return CheckRun(int(row["id"]), scope, tuple(breaches), started_at, row["finished_at"])


async def recent_runs(first: int = 20) -> list[tuple[CheckRun, int]]:
    """The newest runs first, each with the breaches it kept and how many it found."""
    rows = (
        await LedgerCheckRun.select()
        .order_by(LedgerCheckRun.id, ascending=False)
        .limit(max(1, min(first, 200)))
    )
    return [
        (
            CheckRun(
                int(r["id"]),
                Window(
                    r["mode"],
                    int(r["after_posting_id"]),
                    int(r["through_posting_id"]),
                    int(r["after_entry_id"]),
                    int(r["through_entry_id"]),
                ),
                tuple(
                    Breach(d["check"], d["detail"], tuple(d["account_ids"]))
                    for d in (
                        json.loads(r["details"]) if isinstance(r["details"], str) else r["details"]
                    )
                ),
                r["started_at"],
                r["finished_at"],
            ),
            int(r["breaches"]),
        )
        for r in rows
    ]


async def system_account_breaches(
    conn: Connection, check: str, purpose: str, expected: Mapping[Currency, int]
) -> list[Breach]:
    """Each system account of `purpose` must hold (posted, on its normal side, queued
    hot-account deltas included) what `expected` says for its currency, 0 if nothing."""
    return [
        Breach(check, f"{a.code}: off by {delta}", (a.account_id,))
        for a in await chart_of_accounts(conn)
        if a.purpose == purpose
        and (delta := a.balance.posted - expected.get(a.balance.currency, 0)) != 0
    ]


async def check_ledger(conn: Connection) -> list[Breach]:
    """Run the ledger's own invariants; return all breaches (empty when it is sound)."""
    return await _run(conn, _CHECKS)


async def _run(conn: Connection, checks: Mapping[str, str], *args: int) -> list[Breach]:
    breaches: list[Breach] = []
    for name, sql in checks.items():
        for row in await conn.fetch(sql, *args):
            breaches.append(
                Breach(
                    name, f"{row['subject']}: off by {row['delta']}", tuple(row["accounts"] or ())
                )
            )
    return breaches
