"""Every soundness check of the money: the ledger's own invariants, and what each domain
says a system account must hold because of its rows (docs/ledger.md, "The ledger's
boundary"). Run by `wallet ledger check`, the `ledgerCheck` query, after tests, and on a
schedule by the worker (`run_scheduled`: incremental every few minutes, full nightly)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Literal

from wallet import metrics
from wallet.db.engine import Connection, connection
from wallet.ledger import invariants
from wallet.ledger.invariants import Breach, CheckRun, check_ledger
from wallet.merchants import protection
from wallet.notifications.email import EmailProvider
from wallet.notifications.money import Notice, deliver_notices
from wallet.payments import chargebacks
from wallet.transactions import service as transactions
from wallet.transfers import unclaimed
from wallet.users.service import operators_with

CHECKS: tuple[Callable[[Connection], Awaitable[list[Breach]]], ...] = (
    check_ledger,
    chargebacks.reserve_breaches,
    protection.escrow_breaches,
    protection.dispute_hold_breaches,
    transactions.hold_breaches,
    unclaimed.escrow_breaches,
)


async def check_all(conn: Connection) -> list[Breach]:
    """Run every check; return all breaches (empty when the money is sound)."""
    breaches: list[Breach] = []
    for check in CHECKS:
        breaches += await check(conn)
    return breaches


# Who hears of a breach: the operators who can act on the ledger.
ALERTED_ROLES = ("admin", "compliance")


async def run_scheduled(
    mode: Literal["incremental", "full"],
    *,
    email: EmailProvider,
    settle: timedelta = invariants.SETTLE,
) -> CheckRun:
    """One scheduled run: the ledger's invariants over the window since the last clean
    run (or all of it), and the domains' system-account checks, which are cheap. The
    run is recorded either way; a breach sets the alerting gauge and tells the alerted
    operators (in the app and by email). It freezes nothing: people decide."""
    started_at = datetime.now(UTC)
    async with connection() as conn:
        scope = await invariants.window(conn, mode, settle)
        breaches = await invariants.check_window(conn, scope)
        for check in CHECKS[1:]:  # the domains' checks (CHECKS[0] is the ledger's)
            breaches += await check(conn)
    run = await invariants.record_run(scope, breaches, started_at)
    metrics.LEDGER_CHECK_BREACHES.set(len(breaches))
    metrics.LEDGER_CHECK_LAST_RUN.set(time.time())
    if breaches:
        await _alert(run, email)
    return run


async def _alert(run: CheckRun, email: EmailProvider) -> None:
    first = run.breaches[0]
    body = (
        f"The {run.window.mode} ledger check (run {run.id}) found {len(run.breaches)} "
        f"breach(es), the first: {first.check}, {first.detail}. Nothing was frozen. "
        "See ledgerCheckRuns (the run history) and docs/operations.md, "
        "LedgerInvariantBreach."
    )
    await deliver_notices(
        [
            Notice(
                user_id=operator,
                kind="ledger_check_breach",
                title="Ledger check found a breach",
                body=body,
                dedupe_key=f"ledger-check:{run.id}:{operator}",
            )
            for operator in await operators_with(ALERTED_ROLES)
        ],
        email,
    )
