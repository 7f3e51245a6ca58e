"""Money in (addMoney) and out (withdraw) through the gateway, and its callbacks.

Both directions are two-phase. One database transaction records the intent: the
business transaction, a ledger hold between the wallet and the gateway clearing account,
and the idempotency key. The gateway is called after that commit (never inside a
database transaction), and the outcome is applied in a second transaction, or later by
a callback: success posts the hold, failure voids it. Nothing is credited before the
gateway confirms, so a returned ACH debit (R01) releases nothing that was not credited.
A crash between the phases leaves a PENDING/PROCESSING transaction whose hold expires.

Callbacks are authenticated (wallet.gateway.signing), applied once per event id,
and tolerate duplicates and out-of-order delivery. No callback moves a transaction out
of a final state (FAILED, EXPIRED, REVERSED): it is recorded and ignored. The one way
out of COMPLETED is a take-back of a top-up (a card's charge.disputed, a bank's
ach.returned), which posts a return entry through the chargeback debt path.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from wallet.commands.actor import Actor
from wallet.commands.runner import Command, run
from wallet.db.engine import Connection, transaction
from wallet.errors import NonPositiveAmount
from wallet.gateway import signing
from wallet.gateway.base import (
    ChargeStatus,
    EventType,
    GatewayEvent,
    GatewayTimeout,
    InvalidPaymentDetails,
    PaymentDeclined,
    PaymentGateway,
)
from wallet.gateway.sandbox import SandboxGateway
from wallet.ledger import holds
from wallet.ledger import service as ledger
from wallet.ledger.errors import AccountNotActive, InsufficientFunds
from wallet.ledger.models import Purpose
from wallet.limits import service as limits
from wallet.limits.service import LimitExceeded, LimitScope
from wallet.money import Money
from wallet.outbox.service import Topic, emit
from wallet.payments.callback_trail import CallbackTrail, EveryCallback
from wallet.payments.chargebacks import ACH_RETURN, CHARGEBACK, TakeBack, apply_chargeback
from wallet.payments.errors import (
    PaymentMethodNotFound,
    UnknownGatewayReference,
    WrongPaymentMethodKind,
)
from wallet.payments.methods import owned_method
from wallet.security.policy import Action
from wallet.security.stepup import StepUpRequired
from wallet.transactions import service as transactions
from wallet.transactions.models import TransactionStatus, TransactionType
from wallet.wallets.errors import WalletUnavailable
from wallet.wallets.service import lock_for_spending, open_balance, spendable_account

log = structlog.get_logger(__name__)

# How long a hold waits for the gateway before it expires and the transaction fails.
CARD_HOLD_TTL = timedelta(days=1)
BANK_HOLD_TTL = timedelta(days=10)

_OPEN = (TransactionStatus.PENDING.value, TransactionStatus.PROCESSING.value)


class InvalidCallback(Exception):
    pass


@dataclass(frozen=True, slots=True)
class AddMoney:
    payment_method_id: int
    amount: Money


@dataclass(frozen=True, slots=True)
class Withdraw:
    payment_method_id: int
    amount: Money


@dataclass(frozen=True, slots=True)
class FundingReceipt:
    transaction_id: int
    type: str
    status: str
    amount_minor: int
    currency: str
    payment_method_id: int
    failure_reason: str | None
    created_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "created_at": self.created_at.isoformat()}


async def _clearing(conn: Connection, amount: Money) -> int:
    return await ledger.system_account_id(conn, amount.currency, Purpose.GATEWAY_CLEARING_SANDBOX)


async def _receipt(conn: Connection, transaction_id: int) -> FundingReceipt:
    row = await conn.fetchrow(
        "SELECT id, type, status, amount, currency, payment_method_id, failure_reason, "
        "created_at FROM money_transaction WHERE id = $1",
        transaction_id,
    )
    return FundingReceipt(
        transaction_id=int(row["id"]),
        type=row["type"],
        status=row["status"],
        amount_minor=int(row["amount"]),
        currency=row["currency"],
        payment_method_id=int(row["payment_method_id"]),
        failure_reason=row["failure_reason"],
        created_at=row["created_at"],
    )


async def _current(transaction_id: int) -> FundingReceipt:
    async with transaction() as conn:
        return await _receipt(conn, transaction_id)


def _validate(actor: Actor, command: AddMoney | Withdraw) -> None:
    if not command.amount.is_positive:
        raise NonPositiveAmount()


def _fingerprint(command: AddMoney | Withdraw) -> dict[str, Any]:
    return {
        "method": command.payment_method_id,
        "amount": command.amount.amount_minor,
        "currency": command.amount.currency.value,
    }


@dataclass(frozen=True, slots=True)
class _Opened:
    """A funding transaction just opened: the gateway is called after commit."""

    transaction_id: int
    reference: str
    token: str
    is_card: bool


async def _replay(
    conn: Connection, actor: Actor, command: AddMoney | Withdraw, stored: dict[str, Any]
) -> FundingReceipt:
    return await _receipt(conn, int(stored["transaction_id"]))


def _response(result: _Opened | FundingReceipt) -> dict[str, Any]:
    return {"transaction_id": result.transaction_id}


async def _open_with_hold(
    conn: Connection,
    *,
    type: TransactionType,
    user_id: int,
    command: AddMoney | Withdraw,
    method_id: int,
    debit_account_id: int,
    credit_account_id: int,
    waiting: TransactionStatus,
    hold_for: timedelta,
) -> tuple[int, str]:
    """Record the transaction and its hold, and move it to `waiting` (PENDING/PROCESSING);
    (transaction id, the reference to give the gateway)."""
    transaction_id, _ = await transactions.create(
        conn,
        transactions.NewTransaction(
            type=type,
            amount=command.amount,
            initiator_user_id=user_id,
            payment_method_id=method_id,
            via_gateway=True,
        ),
    )
    hold_id = await holds.reserve(
        conn,
        debit_account_id=debit_account_id,
        credit_account_id=credit_account_id,
        amount=command.amount,
        expires_at=datetime.now(UTC) + hold_for,
    )
    await transactions.transition(conn, transaction_id, waiting, hold_id=hold_id)
    return transaction_id, await transactions.gateway_reference(conn, transaction_id)


async def _may_add(conn: Connection, actor: Actor, command: AddMoney) -> None:
    """The method is the user's, the wallet is open, the limits allow it."""
    user_id = actor.require_user()
    await owned_method(conn, user_id, command.payment_method_id)
    wallet = await lock_for_spending(conn, user_id)
    if wallet is None or wallet.status == "closed":
        raise WalletUnavailable("your", wallet.status if wallet else "missing")
    await limits.check(conn, user_id, wallet.verification_level, command.amount, LimitScope.ADD)


async def _open_add(conn: Connection, actor: Actor, command: AddMoney) -> _Opened | FundingReceipt:
    user_id = actor.require_user()
    method = await owned_method(conn, user_id, command.payment_method_id)
    is_card = method.kind == "card"
    transaction_id, reference = await _open_with_hold(
        conn,
        type=TransactionType.ADD,
        user_id=user_id,
        command=command,
        method_id=method.id,
        debit_account_id=await _clearing(conn, command.amount),
        credit_account_id=await open_balance(conn, user_id, command.amount.currency),
        waiting=TransactionStatus.PROCESSING if is_card else TransactionStatus.PENDING,
        hold_for=CARD_HOLD_TTL if is_card else BANK_HOLD_TTL,
    )
    return _Opened(transaction_id, reference, method.token, is_card)


_FUNDING_REFUSALS: tuple[type[Exception], ...] = (
    NonPositiveAmount,
    PaymentMethodNotFound,
    WrongPaymentMethodKind,
    WalletUnavailable,
    LimitExceeded,
    InsufficientFunds,
    AccountNotActive,
)

ADD_MONEY = Command[AddMoney, _Opened | FundingReceipt](
    name="addMoney",
    validate=_validate,
    fingerprint=_fingerprint,
    policy=(_may_add,),
    change=_open_add,
    response=_response,
    replay=_replay,
    refusals=_FUNDING_REFUSALS,
)


async def add_money(
    gateway: PaymentGateway,
    actor: Actor,
    command: AddMoney,
    idempotency_key: str,
    *,
    timeout_seconds: float,
) -> FundingReceipt:
    """Fund the wallet from a card (instant) or a bank account (ACH, settles later)."""
    opened = await run(ADD_MONEY, actor, command, idempotency_key)
    if isinstance(opened, FundingReceipt):  # a replay: the gateway was called the first time
        return opened
    transaction_id = opened.transaction_id
    try:
        if opened.is_card:
            result = await asyncio.wait_for(
                gateway.charge_card(opened.token, command.amount, opened.reference),
                timeout_seconds,
            )
        else:
            result = await gateway.debit_bank_account(
                opened.token, command.amount, opened.reference
            )
    except PaymentDeclined as exc:
        await resolve(transaction_id, succeeded=False, reason=f"Card declined: {exc.reason}")
    except InvalidPaymentDetails as exc:
        await resolve(transaction_id, succeeded=False, reason=str(exc))
    except (TimeoutError, GatewayTimeout):
        # Outcome unknown: stays PROCESSING until the gateway calls back or the hold expires.
        log.warning("gateway.timeout", transaction_id=transaction_id)
    else:
        if result.status is ChargeStatus.SUCCEEDED:
            await resolve(transaction_id, succeeded=True)
    return await _current(transaction_id)


async def _may_withdraw(conn: Connection, actor: Actor, command: Withdraw) -> None:
    """Money leaving to a bank needs a factor proven lately, and a linked bank account."""
    await actor.require(Action.WITHDRAW)
    await owned_method(conn, actor.require_user(), command.payment_method_id, "bank_account")


async def _open_withdrawal(
    conn: Connection, actor: Actor, command: Withdraw
) -> _Opened | FundingReceipt:
    user_id = actor.require_user()
    method = await owned_method(conn, user_id, command.payment_method_id, "bank_account")
    transaction_id, reference = await _open_with_hold(
        conn,
        type=TransactionType.WITHDRAWAL,
        user_id=user_id,
        command=command,
        method_id=method.id,
        debit_account_id=(
            await spendable_account(conn, user_id, command.amount, scope=LimitScope.WITHDRAW)
        )[0],
        credit_account_id=await _clearing(conn, command.amount),
        waiting=TransactionStatus.PENDING,
        hold_for=BANK_HOLD_TTL,
    )
    await emit(
        conn,
        Topic.BALANCE_CHANGED,
        {"user_id": user_id, "currency": command.amount.currency.value},
    )
    return _Opened(transaction_id, reference, method.token, is_card=False)


WITHDRAW = Command[Withdraw, _Opened | FundingReceipt](
    name="withdraw",
    validate=_validate,
    fingerprint=_fingerprint,
    policy=(_may_withdraw,),
    change=_open_withdrawal,
    response=_response,
    replay=_replay,
    refusals=(*_FUNDING_REFUSALS, StepUpRequired),
)


async def withdraw(
    gateway: PaymentGateway, actor: Actor, command: Withdraw, idempotency_key: str
) -> FundingReceipt:
    """Pay out to a linked bank account: a hold now, posted when the gateway confirms.
    The session must have proven a factor lately (`policy.Action.WITHDRAW`)."""
    opened = await run(WITHDRAW, actor, command, idempotency_key)
    if isinstance(opened, FundingReceipt):
        return opened
    try:
        await gateway.payout(opened.token, command.amount, opened.reference)
    except InvalidPaymentDetails as exc:
        await resolve(opened.transaction_id, succeeded=False, reason=str(exc))
    return await _current(opened.transaction_id)


async def _resolve_locked(
    conn: Connection, row: Any, *, succeeded: bool, reason: str | None = None
) -> None:
    """Post or void the hold of a locked, open transaction and move it to its end state."""
    transaction_id = int(row["id"])
    if succeeded:
        entry_id = await holds.post(
            conn, int(row["hold_id"]), kind=row["type"], description=f"transaction {transaction_id}"
        )
        await transactions.transition(
            conn, transaction_id, TransactionStatus.COMPLETED, entry_id=entry_id
        )
    else:
        await holds.void(conn, int(row["hold_id"]))
        await transactions.transition(
            conn, transaction_id, TransactionStatus.FAILED, reason=reason or "failed"
        )
    if row["initiator_user_id"] is not None:  # a merchant settlement has no user
        await emit(
            conn,
            Topic.BALANCE_CHANGED,
            {"user_id": int(row["initiator_user_id"]), "currency": row["currency"]},
        )


_LOCK_OPEN = (
    "SELECT id, type, status, hold_id, initiator_user_id, currency, amount, gateway_ref, "
    "(SELECT kind FROM payment_method pm WHERE pm.id = t.payment_method_id) AS method_kind "
    "FROM money_transaction t "
    "WHERE {where} FOR UPDATE OF t"
)


async def resolve(transaction_id: int, *, succeeded: bool, reason: str | None = None) -> bool:
    """Apply the gateway's answer; False if the transaction was already resolved."""
    async with transaction() as conn:
        row = await conn.fetchrow(_LOCK_OPEN.format(where="id = $1"), transaction_id)
        if row is None or row["status"] not in _OPEN:
            return False
        await _resolve_locked(conn, row, succeeded=succeeded, reason=reason)
        return True


# What each kind of gateway transaction may hear while it is open (the events that
# end it), keyed by (type, payment method kind): a card top-up is not settled by an ACH
# event, nor an ACH debit by a card charge's, whoever signed it.
_RESOLVING: dict[tuple[str, str | None], frozenset[EventType]] = {
    ("add", "card"): frozenset({EventType.CHARGE_SUCCEEDED, EventType.CHARGE_FAILED}),
    ("add", "bank_account"): frozenset({EventType.ACH_SETTLED, EventType.ACH_RETURNED}),
    ("withdrawal", "bank_account"): frozenset({EventType.PAYOUT_PAID, EventType.PAYOUT_FAILED}),
    ("settlement", None): frozenset({EventType.PAYOUT_PAID, EventType.PAYOUT_FAILED}),
}
# The only ways out of COMPLETED: the payer's bank takes a top-up back.
_TAKE_BACKS: dict[tuple[str, str | None], tuple[EventType, TakeBack]] = {
    ("add", "card"): (EventType.CHARGE_DISPUTED, CHARGEBACK),
    ("add", "bank_account"): (EventType.ACH_RETURNED, ACH_RETURN),
}


async def _apply_locked(conn: Connection, row: Any, event: GatewayEvent) -> str:
    """Apply `event` to its locked transaction if the state machine allows; the outcome."""
    key = (str(row["type"]), row["method_kind"])
    status = TransactionStatus(row["status"])
    if status.value in _OPEN:
        if event.type not in _RESOLVING.get(key, frozenset()):
            return f"ignored: {event.type.value} does not apply to this {row['type']}"
        await _resolve_locked(conn, row, succeeded=event.type.succeeded, reason=event.reason)
        return "applied"
    take_back = _TAKE_BACKS.get(key)
    if status is TransactionStatus.COMPLETED and take_back and event.type is take_back[0]:
        await apply_chargeback(conn, row, event.reason, take_back[1])
        return "applied"
    # FAILED, EXPIRED and REVERSED are final; COMPLETED leaves only by a take-back.
    return f"ignored: transaction already {status.value}"


async def handle_gateway_event(event: GatewayEvent, gateway_name: str = "sandbox") -> str:
    """Apply one callback exactly once; return what happened to it."""
    async with transaction() as conn:
        # Locking the transaction first serialises concurrent deliveries of one event.
        row = await conn.fetchrow(_LOCK_OPEN.format(where="gateway_ref = $1"), event.gateway_ref)
        if row is None:
            raise UnknownGatewayReference(event.gateway_ref)
        seen = await conn.fetchval(
            "SELECT outcome FROM gateway_event WHERE event_id = $1", event.event_id
        )
        if seen is not None:
            return "duplicate"
        outcome = await _apply_locked(conn, row, event)
        await conn.execute(
            "INSERT INTO gateway_event (event_id, gateway, type, gateway_ref, payload, outcome) "
            "VALUES ($1, $2, $3, $4, $5::jsonb, $6)",
            event.event_id,
            gateway_name,
            event.type.value,
            event.gateway_ref,
            json.dumps(event.to_json()),
            outcome,
        )
    log.info("gateway.event", event_id=event.event_id, type=event.type.value, outcome=outcome)
    return outcome


async def receive_callback(
    body: bytes,
    signature: str | None,
    secret: str,
    ip: str | None = None,
    trail: CallbackTrail | None = None,
) -> str:
    """An HTTP callback from the gateway: authenticate, parse, apply. Each one, applied,
    repeated or refused, leaves a trace in the audit log (a forged one with where it came
    from), as much as `trail` allows; a refused one may raise `RateLimited` instead."""
    trail = trail or EveryCallback()
    event: GatewayEvent | None = None
    try:
        signing.verify(secret, body, signature)
        try:
            event = GatewayEvent.from_json(json.loads(body))
        except (KeyError, ValueError, TypeError) as exc:
            raise InvalidCallback(f"malformed event: {exc}") from None
    except (signing.InvalidSignature, InvalidCallback) as exc:
        await trail.refused(ip, type(exc).__name__, event)
        raise
    try:
        outcome = await handle_gateway_event(event)
    except UnknownGatewayReference as exc:
        await trail.outcome(ip, event, type(exc).__name__)
        raise
    await trail.outcome(ip, event, outcome)
    return outcome


async def deliver_sandbox_events(gateway: SandboxGateway, secret: str) -> list[str]:
    """Worker job: deliver the sandbox's due callbacks, signed, through `receive_callback`."""
    outcomes = []
    for event in await gateway.take_due_events():
        body = json.dumps(event.to_json()).encode()
        try:
            outcomes.append(await receive_callback(body, signing.sign(secret, body), secret))
        except UnknownGatewayReference:
            await gateway.redeliver_later(event)
    return outcomes


async def expire_stale_holds(now: datetime) -> list[int]:
    """Worker job: expire due holds and end their transactions (EXPIRED or FAILED)."""
    async with transaction() as conn:
        expired = await holds.expire_due(conn, now)
        rows = await conn.fetch(
            "SELECT id, status FROM money_transaction WHERE hold_id = ANY($1::bigint[]) "
            "AND status = ANY($2::text[]) ORDER BY id FOR UPDATE",
            expired,
            list(_OPEN),
        )
        # A payment held for fraud review that no one reviewed in time comes back.
        await conn.execute(
            "UPDATE fraud_review SET status = 'expired', decided_at = now() "
            "WHERE transaction_id = ANY($1::bigint[]) AND status = 'open'",
            [r["id"] for r in rows],
        )
        for row in rows:
            if row["status"] == TransactionStatus.PENDING.value:
                await transactions.transition(
                    conn, int(row["id"]), TransactionStatus.EXPIRED, reason="hold expired"
                )
            else:
                await transactions.transition(
                    conn, int(row["id"]), TransactionStatus.FAILED, reason="no answer in time"
                )
    return [int(r["id"]) for r in rows]
