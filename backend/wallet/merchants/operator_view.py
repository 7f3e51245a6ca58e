"""Merchants as operators see them (issue 16, the operator console): each merchant's fee
rate, its settlement schedule in words and when it is next due, and its latest
settlement batches; and merchants' names for other operator views.

Read-only. The schedule is `wallet.merchants.settlement`'s rule, told in words: a
merchant that is active, approved and has a payout account is settled when its last
batch is a period old (a day or a week), by the worker's hourly `settle_merchants` run
(workers/settings.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from wallet.db.engine import connection
from wallet.merchants import settlement
from wallet.merchants.tables import Merchant
from wallet.money import Currency, Money

MAX_MERCHANTS = 200
LAST_BATCHES = 5

# Each merchant's newest batches, in one statement (Piccolo has no LATERAL join).
_LAST_BATCHES = f"""
SELECT x.* FROM unnest($1::bigint[]) AS m(id) CROSS JOIN LATERAL (
    {settlement.BATCH_SELECT} WHERE b.merchant_id = m.id ORDER BY b.id DESC LIMIT $2
) x
ORDER BY x.merchant_id, x.id DESC
"""  # noqa: S608 (a constant select)


@dataclass(frozen=True, slots=True)
class MerchantFees:
    id: int
    name: str
    status: str  # active or suspended
    approval_status: str  # pending, approved or rejected
    fee_percent_bp: int  # of each payment, in basis points (half up)
    fixed_fees: tuple[Money, ...]  # per payment, in each currency that has one
    schedule: str  # daily or weekly
    has_payout_account: bool
    batches: tuple[settlement.Batch, ...]  # the newest first, at most LAST_BATCHES

    @property
    def not_settled_because(self) -> str | None:
        """Why settlement passes the merchant by, if it does."""
        if self.status != "active":
            return f"the merchant is {self.status}"
        if self.approval_status != "approved":
            return f"the merchant's application is {self.approval_status}"
        if not self.has_payout_account:
            return "the merchant has no payout account"
        return None

    def next_due(self, now: datetime) -> datetime | None:
        """When it is next due (the hourly run after that pays it); None if it is not
        settled at all. Never settled: due now."""
        if self.not_settled_because is not None:
            return None
        if not self.batches:
            return now
        return max(self.batches[0].created_at + settlement.PERIOD[self.schedule], now)

    @property
    def schedule_in_words(self) -> str:
        period = {"daily": "a day", "weekly": "a week"}[self.schedule]
        said = (
            f"{self.schedule.capitalize()}: every finished payment and refund not yet "
            f"settled is paid out to the merchant's bank account, less fees, by the first "
            f"hourly settlement run {period} after its last batch (one batch per currency)."
        )
        reason = self.not_settled_because
        return said if reason is None else f"{said} Not settled now: {reason}."


def _fixed_fees(raw: Any) -> tuple[Money, ...]:
    """`fee_fixed`: minor units per currency code (`service.set_fees` writes it)."""
    amounts: dict[str, int] = raw if isinstance(raw, dict) else {}
    return tuple(Money(int(minor), Currency(code)) for code, minor in sorted(amounts.items()))


async def merchant_fees(first: int = 100) -> list[MerchantFees]:
    """The merchants by id, each with its fees, schedule and latest batches."""
    rows = (
        await Merchant.select(
            Merchant.id,
            Merchant.name,
            Merchant.status,
            Merchant.approval_status,
            Merchant.fee_percent_bp,
            Merchant.fee_fixed,
            Merchant.settlement_schedule,
            Merchant.settlement_method_id,
        )
        .order_by(Merchant.id)
        .limit(max(1, min(first, MAX_MERCHANTS)))
        .output(load_json=True)
    )
    ids = [int(r["id"]) for r in rows]
    batches: dict[int, list[settlement.Batch]] = {i: [] for i in ids}
    if ids:
        async with connection() as conn:
            for b in await conn.fetch(_LAST_BATCHES, ids, LAST_BATCHES):
                batch = settlement.batch_from_row(b)
                batches[batch.merchant_id].append(batch)
    return [
        MerchantFees(
            id=int(r["id"]),
            name=r["name"],
            status=r["status"],
            approval_status=r["approval_status"],
            fee_percent_bp=int(r["fee_percent_bp"]),
            fixed_fees=_fixed_fees(r["fee_fixed"]),
            schedule=r["settlement_schedule"],
            has_payout_account=r["settlement_method_id"] is not None,
            batches=tuple(batches[int(r["id"])]),
        )
        for r in rows
    ]


async def merchant_names(merchant_ids: Sequence[int]) -> dict[int, str]:
    """Merchant id -> name, for the ids that exist."""
    if not merchant_ids:
        return {}
    rows = await Merchant.select(Merchant.id, Merchant.name).where(
        Merchant.id.is_in(list(merchant_ids))
    )
    return {int(r["id"]): r["name"] for r in rows}
