"""The ledger checks of DESIGN.md §3, run after tests and by operators.

Each check returns the breaches it found; an empty report means the ledger is sound.
These read the ledger's own tables only. What a system account must hold because of
another domain's rows (escrow = pending marketplace sales, and so on) is checked by that
domain, through `system_account_breaches` and `holds.pending_amounts`; `wallet.checks`
runs them all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from wallet.db.engine import Connection
from wallet.ledger.service import chart_of_accounts
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
    # Each account's running totals equal the sum of its postings.
    "account_matches_postings": """
        SELECT a.code AS subject, ARRAY[a.id] AS accounts,
               (a.posted_debits - coalesce(p.debits, 0))
               + (a.posted_credits - coalesce(p.credits, 0)) AS delta
        FROM ledger_balance a
        LEFT JOIN (
            SELECT account_id,
                   sum(amount) FILTER (WHERE side = 'D') AS debits,
                   sum(amount) FILTER (WHERE side = 'C') AS credits
            FROM posting GROUP BY account_id
        ) p ON p.account_id = a.id
        WHERE a.posted_debits <> coalesce(p.debits, 0) OR a.posted_credits <> coalesce(p.credits, 0)
    """,
    # No account that may not overdraw is below zero available (`ledger_available`,
    # migration 0044, the one definition, read through the view).
    "no_overdraft": """
        SELECT code AS subject, ARRAY[id] AS accounts, available AS delta
        FROM ledger_balance
        WHERE no_overdraft AND available < 0
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
    # Each account's chain (docs/ledger.md, "Ledger positions"): positions 1..last_seq,
    # every balance the one before plus the posting, times never going back, and no
    # posting with a balance but no position.
    "posting_chain": """
        WITH chain AS (
            SELECT c.account_id, c.account_seq, c.posted_at, c.balance_after,
                   CASE WHEN c.side = a.normal_side THEN c.amount ELSE -c.amount END AS delta,
                   row_number() OVER w AS n,
                   lag(c.balance_after, 1, 0::bigint) OVER w AS before,
                   lag(c.posted_at) OVER w AS previous_at
            FROM ledger_chain c JOIN ledger_account a ON a.id = c.account_id
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
        LEFT JOIN (SELECT account_id, count(*) AS n FROM ledger_chain GROUP BY account_id) c
               ON c.account_id = a.id
        WHERE a.last_seq <> coalesce(c.n, 0)
        UNION ALL
        SELECT 'posting ' || p.id || ' has a balance but no position', ARRAY[p.account_id], 0
        FROM posting p
        WHERE p.balance_after IS NOT NULL AND p.account_seq IS NULL
    """,
    # Every journal entry has postings.
    "entry_has_postings": """
        SELECT 'entry ' || e.id AS subject, NULL::bigint[] AS accounts, 0::bigint AS delta
        FROM journal_entry e
        WHERE NOT EXISTS (SELECT 1 FROM posting p WHERE p.entry_id = e.id)
    """,
}


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
    breaches: list[Breach] = []
    for name, sql in _CHECKS.items():
        for row in await conn.fetch(sql):
            breaches.append(
                Breach(
                    name, f"{row['subject']}: off by {row['delta']}", tuple(row["accounts"] or ())
                )
            )
    return breaches
