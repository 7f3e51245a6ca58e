"""Settlement: pay each merchant what it earned, less the fee, on its schedule.

A batch covers one merchant and currency: every finished payment and refund not in an
earlier batch (each is marked with its batch, so nothing is counted twice or skipped,
and a marketplace sale released from escrow late joins the next batch). Gross is
payments less refunds; the fee is `fee_percent_bp` basis points of the payments (half
up) plus the fixed fee per payment; net is what the payable holds less the fee (so the
money of a failed earlier payout goes out with the next batch). One database transaction posts
the fee (payable -> fee revenue), records the batch and a `settlement` transaction with
a hold (payable -> gateway clearing); the payout is requested after commit. The
gateway's payout.paid posts the hold, payout.failed voids it and the money stays in
the payable for the next batch.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import structlog

from wallet.db.engine import Connection, connection, transaction
from wallet.exports.csv_writer import csv_text
from wallet.gateway.base import InvalidPaymentDetails, PaymentGateway
from wallet.ledger import holds
from wallet.ledger import service as ledger
from wallet.ledger.models import EntryDraft, OwnerType, Purpose
from wallet.merchants.errors import MerchantNotFound
from wallet.merchants.service import PAYABLE, Principal
from wallet.money import Currency, Money
from wallet.payments.funding import BANK_HOLD_TTL, resolve
from wallet.transactions import service as transactions
from wallet.transactions.models import TransactionStatus, TransactionType

log = structlog.get_logger(__name__)

PERIOD = {"daily": timedelta(days=1), "weekly": timedelta(days=7)}


@dataclass(frozen=True, slots=True)
class Batch:
    id: int
    merchant_id: int
    currency: Currency
    payments: int
    gross: Money
    fee: Money
    net: Money
    payout_transaction_id: int
    payout_status: str
    created_at: datetime


def fee_for(payments_total: int, payments: int, percent_bp: int, fixed_minor: int) -> int:
    percent = (Decimal(payments_total) * percent_bp / 10_000).quantize(
        Decimal(1), rounding=ROUND_HALF_UP
    )
    return int(percent) + payments * fixed_minor


# The worker settles due merchants once an hour, at this second past the hour.
SETTLE_AT_SECOND = 45


async def _unsettled(conn: Connection, merchant_id: int, currency: Currency) -> Any:
    """Every finished sale and refund not in a batch yet: a sale released from escrow
    late is counted when it is released, whatever its id."""
    return await conn.fetchrow(
        "SELECT coalesce(array_agg(id), '{}') AS ids, coalesce(min(id), 0) AS first_id, "
        "coalesce(max(id), 0) AS last_id, "
        "count(*) FILTER (WHERE type = 'payment') AS payments, "
        "coalesce(sum(amount) FILTER (WHERE type = 'payment'), 0) AS paid, "
        "coalesce(sum(amount) FILTER (WHERE type = 'refund'), 0) AS refunded "
        "FROM money_transaction WHERE merchant_id = $1 AND currency = $2 "
        "AND settlement_batch_id IS NULL "
        "AND type IN ('payment', 'refund') AND status IN ('completed', 'reversed')",
        merchant_id,
        currency.value,
    )


def _fee(merchant: Any, period: Any, currency: Currency) -> int:
    fixed = int(json.loads(merchant["fee_fixed"]).get(currency.value, 0))
    return fee_for(int(period["paid"]), int(period["payments"]), merchant["fee_percent_bp"], fixed)


@dataclass(frozen=True, slots=True)
class PayoutPreview:
    """What the next batch would pay in one currency if it ran now, and when it runs."""

    currency: Currency
    at: datetime | None  # None: no settlement account, or not approved yet
    payments: int
    gross: Money  # payments less refunds since the last batch
    fee: Money
    net: Money  # what the payable holds less the fee (what would be paid out)


def next_run(last: datetime | None, schedule: str, now: datetime) -> datetime:
    """When the hourly job next settles a merchant whose last batch was at `last`."""
    due = now if last is None else max(last + PERIOD[schedule], now)
    hour = due.replace(minute=0, second=SETTLE_AT_SECOND, microsecond=0)
    return hour if hour >= due else hour + timedelta(hours=1)


async def payout_preview(principal: Principal, now: datetime | None = None) -> list[PayoutPreview]:
    """The next payout per currency the merchant holds: its date, and its amount less
    fees, counted as `settle_merchant` will count it (read, never locked)."""
    now = now or datetime.now(UTC)
    async with connection() as conn:
        merchant = await conn.fetchrow(
            "SELECT m.fee_percent_bp, m.fee_fixed, m.settlement_schedule, "
            "m.settlement_method_id IS NOT NULL AND m.approval_status = 'approved' "
            "AND m.status = 'active' AS settles, "
            "(SELECT max(created_at) FROM settlement_batch b WHERE b.merchant_id = m.id) AS last "
            "FROM merchant m WHERE m.id = $1",
            principal.merchant_id,
        )
        if merchant is None:
            raise MerchantNotFound()
        at = next_run(merchant["last"], merchant["settlement_schedule"], now)
        previews = []
        for currency in await ledger.currencies_of(
            conn, OwnerType.MERCHANT, principal.merchant_id, PAYABLE
        ):
            period = await _unsettled(conn, principal.merchant_id, currency)
            payable = await ledger.find_account(
                conn, OwnerType.MERCHANT, principal.merchant_id, currency, PAYABLE
            )
            available = 0 if payable is None else (await ledger.balance(conn, payable)).available
            fee = min(_fee(merchant, period, currency), max(available, 0))
            previews.append(
                PayoutPreview(
                    currency=currency,
                    at=at if merchant["settles"] else None,
                    payments=int(period["payments"]),
                    gross=Money(int(period["paid"]) - int(period["refunded"]), currency),
                    fee=Money(fee, currency),
                    net=Money(max(available - fee, 0), currency),
                )
            )
    return previews


async def due_merchants(conn: Connection, now: datetime) -> list[int]:
    """Approved merchants with a settlement account whose last batch is a period old
    (or none)."""
    rows = await conn.fetch(
        "SELECT m.id, m.settlement_schedule, max(b.created_at) AS last FROM merchant m "
        "LEFT JOIN settlement_batch b ON b.merchant_id = m.id "
        "WHERE m.status = 'active' AND m.approval_status = 'approved' "
        "AND m.settlement_method_id IS NOT NULL GROUP BY m.id"
    )
    return [
        int(r["id"])
        for r in rows
        if r["last"] is None or r["last"] + PERIOD[r["settlement_schedule"]] <= now
    ]


async def settle_merchant(
    gateway: PaymentGateway, merchant_id: int, currency: Currency
) -> Batch | None:
    """Create and pay out one batch; None when there is nothing to settle, or the
    merchant is not approved (checked under its row lock: a decision being made waits)."""
    async with transaction() as conn:
        merchant = await conn.fetchrow(
            "SELECT m.id, m.fee_percent_bp, m.fee_fixed, pm.token FROM merchant m "
            "JOIN payment_method pm ON pm.id = m.settlement_method_id "
            "WHERE m.id = $1 AND m.approval_status = 'approved' "
            "FOR UPDATE OF m",  # one batch at a time per merchant
            merchant_id,
        )
        if merchant is None:
            return None
        period = await _unsettled(conn, merchant_id, currency)
        gross = int(period["paid"]) - int(period["refunded"])
        fee = _fee(merchant, period, currency)
        payable = await ledger.find_account(
            conn, OwnerType.MERCHANT, merchant_id, currency, PAYABLE
        )
        if payable is None:
            return None
        available = (await ledger.lock_accounts(conn, [payable]))[payable].available
        fee = min(fee, max(available, 0))
        net = available - fee
        if net <= 0:
            return None
        fee_transaction_id = None
        if fee:
            revenue = await ledger.system_account_id(conn, currency, Purpose.FEE_REVENUE)
            fee_entry = await ledger.post_entry(
                conn, EntryDraft.transfer("fee", payable, revenue, Money(fee, currency))
            )
            fee_transaction_id, _ = await transactions.record_completed(
                conn,
                transactions.NewTransaction(
                    type=TransactionType.FEE,
                    amount=Money(fee, currency),
                    initiator_user_id=None,
                    merchant_id=merchant_id,
                    note="settlement fee",
                ),
                fee_entry,
            )
        payout_id, _ = await transactions.create(
            conn,
            transactions.NewTransaction(
                type=TransactionType.SETTLEMENT,
                amount=Money(net, currency),
                initiator_user_id=None,
                via_gateway=True,
                merchant_id=merchant_id,
            ),
        )
        hold_id = await holds.reserve(
            conn,
            debit_account_id=payable,
            credit_account_id=await ledger.system_account_id(
                conn, currency, Purpose.GATEWAY_CLEARING_SANDBOX
            ),
            amount=Money(net, currency),
            expires_at=datetime.now(UTC) + BANK_HOLD_TTL,
        )
        await transactions.transition(conn, payout_id, TransactionStatus.PENDING, hold_id=hold_id)
        batch_id = await conn.fetchval(
            "INSERT INTO settlement_batch (merchant_id, currency, period_start_txn, "
            "period_end_txn, payments, gross, fee, net, fee_transaction_id, "
            "payout_transaction_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
            "RETURNING id",
            merchant_id,
            currency.value,
            period["first_id"],
            period["last_id"],
            period["payments"],
            gross,
            fee,
            net,
            fee_transaction_id,
            payout_id,
        )
        await conn.execute(
            "UPDATE money_transaction SET settlement_batch_id = $2 "
            "WHERE id = $1 OR id = ANY($3::bigint[])",
            payout_id,
            batch_id,
            list(period["ids"]),
        )
        token = merchant["token"]
        reference = await transactions.gateway_reference(conn, payout_id)
    try:
        await gateway.payout(token, Money(net, currency), reference)
    except InvalidPaymentDetails as exc:
        await resolve(payout_id, succeeded=False, reason=str(exc))
    return await get_batch(int(batch_id))


async def settle_due(gateway: PaymentGateway, now: datetime) -> list[int]:
    """Worker job: settle every merchant that is due, in every currency it holds."""
    async with connection() as conn:
        merchant_ids = await due_merchants(conn, now)
        currencies = {
            m: await ledger.currencies_of(conn, OwnerType.MERCHANT, m, PAYABLE)
            for m in merchant_ids
        }
    batches = []
    for merchant_id, held in currencies.items():
        for currency in held:
            batch = await settle_merchant(gateway, merchant_id, currency)
            if batch is not None:
                batches.append(batch.id)
                log.info("settlement.batch", merchant_id=merchant_id, batch_id=batch.id)
    return batches


BATCH_SELECT = """
    SELECT b.id, b.merchant_id, b.currency, b.payments, b.gross, b.fee, b.net,
           b.payout_transaction_id, t.status AS payout_status, b.created_at,
           b.period_start_txn, b.period_end_txn
    FROM settlement_batch b JOIN money_transaction t ON t.id = b.payout_transaction_id
"""


def batch_from_row(row: object) -> Batch:
    r = dict(row)  # type: ignore[call-overload]
    currency = Currency(r["currency"])
    return Batch(
        id=int(r["id"]),
        merchant_id=int(r["merchant_id"]),
        currency=currency,
        payments=int(r["payments"]),
        gross=Money(int(r["gross"]), currency),
        fee=Money(int(r["fee"]), currency),
        net=Money(int(r["net"]), currency),
        payout_transaction_id=int(r["payout_transaction_id"]),
        payout_status=r["payout_status"],
        created_at=r["created_at"],
    )


async def get_batch(batch_id: int) -> Batch:
    async with connection() as conn:
        row = await conn.fetchrow(f"{BATCH_SELECT} WHERE b.id = $1", batch_id)
    return batch_from_row(row)


async def batches_of(principal: Principal) -> list[Batch]:
    async with connection() as conn:
        rows = await conn.fetch(
            f"{BATCH_SELECT} WHERE b.merchant_id = $1 ORDER BY b.id DESC LIMIT 100",
            principal.merchant_id,
        )
    return [batch_from_row(r) for r in rows]


async def report_csv(principal: Principal, batch_id: int) -> str:
    """The batch's payments and refunds, then its totals, as CSV."""
    async with connection() as conn:
        batch = await conn.fetchrow(
            f"{BATCH_SELECT} WHERE b.id = $1 AND b.merchant_id = $2",
            batch_id,
            principal.merchant_id,
        )
        if batch is None:
            raise MerchantNotFound()
        lines = await conn.fetch(
            "SELECT t.id, t.type, t.created_at, t.amount, r.order_id FROM money_transaction t "
            "LEFT JOIN payment_request r ON r.id = t.payment_request_id "
            "WHERE t.merchant_id = $1 AND t.settlement_batch_id = $2 "
            "AND t.type IN ('payment', 'refund') ORDER BY t.id",
            principal.merchant_id,
            batch["id"],
        )
    currency = Currency(batch["currency"])
    rows: list[list[object]] = [
        [
            line["id"],
            line["type"],
            line["created_at"].isoformat(),
            line["order_id"],
            ("-" if line["type"] == "refund" else "")
            + Money(int(line["amount"]), currency).format(),
            currency.value,
        ]
        for line in lines
    ]
    rows += [
        ["", label, "", "", Money(int(batch[label]), currency).format(), ""]
        for label in ("gross", "fee", "net")
    ]
    # Order ids come from the merchant's own systems: the shared writer defuses them.
    return csv_text(
        ["transaction_id", "type", "created_at", "order_id", "amount", "currency"], rows
    )
