"""Every soundness check of the money: the ledger's own invariants, and what each domain
says a system account must hold because of its rows (docs/ledger.md, "The ledger's
boundary"). Run by `wallet ledger check`, the `ledgerCheck` query and after tests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from wallet.db.engine import Connection
from wallet.ledger.invariants import Breach, check_ledger
from wallet.merchants import protection
from wallet.payments import chargebacks
from wallet.transactions import service as transactions
from wallet.transfers import unclaimed

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
