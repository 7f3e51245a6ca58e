"""Payment requests (shown as an EMVCo QR code and an NFC record), paying them, refunds.

A dynamic request carries an amount and an order id and is paid once. A static
request (the shop's printed code) has no amount: the payer types it, and it can be paid
any number of times. Paying debits the payer's wallet and credits the merchant's
payable in one entry; both sides hear about it through the outbox. Refunds, full or
partial, are new entries the other way; together they never exceed the payment.

Outside the merchant, a request is known only by its reference: 20 random characters
of Crockford's base32 (100 bits, made by the database), never its sequential id. A
payer sees only what paying needs (`PayableRequest`), and only while it can be paid.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from wallet.commands import rules
from wallet.commands.actor import Actor
from wallet.commands.runner import Command, run
from wallet.db.engine import Connection, connection, transaction
from wallet.errors import NonPositiveAmount
from wallet.fraud.engine import Attempt
from wallet.fraud.service import PaymentBlocked, Screening, recording_blocks, screen
from wallet.insights import budgets
from wallet.ledger import service as ledger
from wallet.ledger.errors import AccountNotActive, InsufficientFunds
from wallet.ledger.models import EntryDraft, OwnerType, Purpose
from wallet.limits.service import LimitExceeded, LimitScope
from wallet.merchants import emvco, webhooks
from wallet.merchants.errors import (
    AmountMismatch,
    DuplicateOrder,
    InvalidMerchantDetails,
    MerchantUnavailable,
    NotAllowed,
    NotRefundable,
    OwnerPinRefused,
    PaymentRequestNotFound,
    PaymentRequestNotPayable,
    RefundExceedsPayment,
    RequestNotPaid,
)
from wallet.merchants.service import PAYABLE, Principal, Role, Scope, open_payable
from wallet.money import Currency, Money
from wallet.outbox.service import Topic, emit
from wallet.rewards import service as rewards
from wallet.security.stepup import StepUpRequired
from wallet.transactions import service as transactions
from wallet.transactions.models import TransactionStatus, TransactionType
from wallet.users import pin as pins
from wallet.wallets.errors import WalletUnavailable
from wallet.wallets.service import open_balance, spendable_account

MAX_REQUEST_MINUTES = 24 * 60
_REFERENCE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{20}$")
# Crockford's base32 reads the letters people confuse with digits as those digits.
_TYPED = str.maketrans({"O": "0", "I": "1", "L": "1", "-": None, " ": None})


def normalize_reference(text: str) -> str | None:
    """A reference as stored, from what a person typed (any case, dashes, spaces), or
    None when it cannot be one."""
    cleaned = text.strip().upper().translate(_TYPED)
    return cleaned if _REFERENCE.match(cleaned) else None


@dataclass(frozen=True, slots=True)
class PaymentRequest:
    """A request as its merchant sees it (everything; `id` never leaves the platform)."""

    id: int
    reference: str
    merchant_id: int
    merchant_name: str
    merchant_city: str
    mcc: str
    country: str
    currency: Currency
    amount: Money | None
    order_id: str | None
    description: str
    status: str
    transaction_id: int | None
    expires_at: datetime | None
    created_at: datetime
    marketplace: bool = False  # sales wait in buyer-protection escrow
    return_url: str | None = None  # online checkout: where the customer goes back
    merchant_approval: str = "pending"

    @property
    def payable(self) -> bool:
        return self.status == "open" and self.merchant_approval != "rejected"

    def qr_payload(self) -> str:
        return emvco.encode(
            emvco.MerchantQr(
                reference=self.reference,
                merchant_name=self.merchant_name,
                merchant_city=self.merchant_city or "Online",
                mcc=self.mcc,
                country=self.country,
                currency=self.currency,
                amount=self.amount,
                order_id=self.order_id,
            )
        )


@dataclass(frozen=True, slots=True)
class PayableRequest:
    """A request as a payer sees it: what paying it needs, nothing more."""

    reference: str
    merchant_name: str
    currency: Currency
    amount: Money | None  # None: a static code, the payer types the amount
    description: str


_SELECT = """
    SELECT r.id, r.reference, r.merchant_id, m.name AS merchant_name,
           m.city AS merchant_city, m.mcc, m.country, m.marketplace,
           m.approval_status AS merchant_approval, r.currency, r.amount, r.order_id,
           r.description, r.status, r.transaction_id, r.expires_at, r.created_at, r.return_url
    FROM payment_request r JOIN merchant m ON m.id = r.merchant_id
"""


def _request(row: Any) -> PaymentRequest:
    currency = Currency(row["currency"])
    status = row["status"]
    if (
        status == "open"
        and row["expires_at"] is not None
        and row["expires_at"] <= datetime.now(UTC)
    ):
        status = "expired"
    return PaymentRequest(
        id=int(row["id"]),
        reference=row["reference"],
        merchant_id=int(row["merchant_id"]),
        merchant_name=row["merchant_name"],
        merchant_city=row["merchant_city"],
        mcc=row["mcc"],
        country=row["country"],
        currency=currency,
        amount=None if row["amount"] is None else Money(int(row["amount"]), currency),
        order_id=row["order_id"],
        description=row["description"],
        status=status,
        transaction_id=row["transaction_id"],
        expires_at=row["expires_at"],
        created_at=row["created_at"],
        marketplace=row["marketplace"],
        return_url=row["return_url"],
        merchant_approval=row["merchant_approval"],
    )


async def _load(conn: Connection, reference: str, *, lock: bool = False) -> PaymentRequest:
    row = await conn.fetchrow(
        f"{_SELECT} WHERE r.reference = $1" + (" FOR UPDATE OF r" if lock else ""), reference
    )
    if row is None:
        raise PaymentRequestNotFound()
    return _request(row)


async def get_request(request_id: int) -> PaymentRequest | None:
    """By internal id (outbox events carry it); never with an id from a client."""
    async with connection() as conn:
        row = await conn.fetchrow(f"{_SELECT} WHERE r.id = $1", request_id)
    return _request(row) if row else None


async def find_request(reference: str) -> PaymentRequest | None:
    """By reference, whoever asks; callers check who may see it (`request_for_merchant`,
    `payable_request`)."""
    normalized = normalize_reference(reference)
    if normalized is None:
        return None
    async with connection() as conn:
        row = await conn.fetchrow(f"{_SELECT} WHERE r.reference = $1", normalized)
    return _request(row) if row else None


async def payable_request(reference: str) -> PayableRequest:
    """What a payer may see of a request: only while it can be paid. Paid, expired and
    cancelled requests (and those of a rejected merchant) are `PaymentRequestNotFound`,
    the same answer as a reference that never existed."""
    found = await find_request(reference)
    if found is None or not found.payable:
        raise PaymentRequestNotFound()
    return PayableRequest(
        reference=found.reference,
        merchant_name=found.merchant_name,
        currency=found.currency,
        amount=found.amount,
        description=found.description,
    )


@dataclass(frozen=True, slots=True)
class NewPaymentRequest:
    currency: Currency
    amount: Money | None  # None: a static code
    order_id: str | None = None
    description: str = ""
    expires_in: timedelta = timedelta(minutes=15)
    return_url: str | None = None


async def create_request(principal: Principal, new: NewPaymentRequest) -> PaymentRequest:
    if not principal.may(Scope.PAYMENTS_WRITE):
        raise NotAllowed("create payment requests")
    if new.amount is not None and not new.amount.is_positive:
        raise NonPositiveAmount()
    if new.amount is not None and new.amount.currency is not new.currency:
        raise AmountMismatch("The amount is not in the request's currency")
    if not timedelta(minutes=1) <= new.expires_in <= timedelta(minutes=MAX_REQUEST_MINUTES):
        raise InvalidMerchantDetails("expiresInMinutes", "A request lasts 1 minute to 1 day")
    if new.return_url is not None and (
        not new.return_url.startswith(("https://", "http://")) or len(new.return_url) > 500
    ):
        raise InvalidMerchantDetails("returnUrl", "A return URL starts with https://")
    if new.order_id is not None and not 1 <= len(new.order_id) <= 25:
        raise InvalidMerchantDetails("orderId", "An order id is 1 to 25 characters")
    async with transaction() as conn:
        approval = await conn.fetchval(
            "SELECT approval_status FROM merchant WHERE id = $1", principal.merchant_id
        )
        if approval == "rejected":
            raise NotAllowed("take payments: this business was not approved")
        await open_payable(conn, principal.merchant_id, new.currency)
        reference = await conn.fetchval(
            "INSERT INTO payment_request (merchant_id, currency, amount, order_id, description, "
            "expires_at, return_url) VALUES ($1, $2, $3, $4, $5, CASE WHEN $3::bigint IS NULL "
            "THEN NULL ELSE now() + $6::interval END, $7) "
            "ON CONFLICT (merchant_id, order_id) DO NOTHING RETURNING reference",
            principal.merchant_id,
            new.currency.value,
            None if new.amount is None else new.amount.amount_minor,
            new.order_id,
            new.description[:140],
            new.expires_in,
            new.return_url,
        )
        if reference is None:
            raise DuplicateOrder(new.order_id or "")
        return await _load(conn, str(reference))


async def request_for_merchant(principal: Principal, reference: str) -> PaymentRequest:
    """A request in full, for its own merchant's staff or keys; any other merchant gets
    `PaymentRequestNotFound`, as for an unknown reference."""
    if not principal.may(Scope.PAYMENTS_READ):
        raise NotAllowed("see payment requests")
    found = await find_request(reference)
    if found is None or found.merchant_id != principal.merchant_id:
        raise PaymentRequestNotFound()
    return found


@dataclass(frozen=True, slots=True)
class PayRequest:
    reference: str
    amount: Money | None  # required for a static code, must match a dynamic one
    # The payer's transaction PIN, which confirms a merchant payment. None only for an
    # actor whose session proved a factor in the last few minutes.
    pin: str | None = None
    # How long a marketplace sale waits for delivery (`MoneyRules.buyer_protection_days`).
    escrow_days: int = field(default_factory=lambda: rules.current().buyer_protection_days)
    # The payer confirmed it a second time, knowing it takes a strict budget over.
    override_budget: bool = False


@dataclass(frozen=True, slots=True)
class MerchantPayment:
    transaction_id: int
    reference: str
    amount: Money
    merchant_name: str
    order_id: str | None
    created_at: datetime
    return_url: str | None  # online checkout: where the payer goes back to


async def _confirm_payment(actor: Actor, command: PayRequest) -> None:
    """A merchant payment is confirmed with the payer's PIN (a wrong one counts towards
    its lock, committed even though the payment is refused), or by a session that
    proved a factor lately."""
    payer_id = actor.require_user()
    if command.pin is not None:
        await pins.verify_pin(payer_id, command.pin)
    elif not actor.stepped_up:
        raise pins.PinRequired()


def _reference(command: PayRequest) -> str:
    reference = normalize_reference(command.reference)
    if reference is None:
        raise PaymentRequestNotFound()
    return reference


def _validate_payment(actor: Actor, command: PayRequest) -> None:
    _reference(command)  # a reference of the right form, or PaymentRequestNotFound


async def _within_budget(conn: Connection, actor: Actor, command: PayRequest) -> None:
    """A payment that would take a strict budget over waits for a second confirmation."""
    request = await _load(conn, _reference(command))
    if request.status != "open" or not request.payable:
        return  # the change refuses it, for that reason
    await budgets.check_payment(
        conn,
        actor.require_user(),
        payee=request.merchant_name,
        mcc=request.mcc,
        amount=_amount_to_pay(request, command.amount),
        override=command.override_budget,
    )


async def budget_impact(
    payer_id: int, request: PaymentRequest, amount: Money | None
) -> budgets.BudgetImpact | None:
    """What paying `request` (found by `find_request`) would do to the payer's budget
    (the review screen); None when no budget covers it or it cannot be paid as asked."""
    if request.status != "open" or not request.payable:
        return None  # only a request that can be paid, as `payable_request` shows
    try:
        to_pay = _amount_to_pay(request, amount)
    except (AmountMismatch, NonPositiveAmount):
        return None
    async with connection() as conn:
        return await budgets.impact_of(
            conn, payer_id, payee=request.merchant_name, mcc=request.mcc, amount=to_pay
        )


async def _pay(conn: Connection, actor: Actor, command: PayRequest) -> MerchantPayment:
    payer_id = actor.require_user()
    reference = _reference(command)
    request = await _load(conn, reference)
    if request.amount is not None:
        # A dynamic request is paid once: lock it and read it again. A static code is
        # never changed by a payment, so its many payers do not queue on its row.
        request = await _load(conn, reference, lock=True)
    if request.status != "open":
        raise PaymentRequestNotPayable(request.status)
    if not request.payable:  # its merchant was rejected since the request was made
        raise PaymentRequestNotPayable("cancelled")
    amount = _amount_to_pay(request, command.amount)
    transaction_id = await charge(
        conn,
        payer_id=payer_id,
        merchant_id=request.merchant_id,
        amount=amount,
        note=request.description or (request.order_id or ""),
        payment_request_id=request.id,
        escrow_days=command.escrow_days if request.marketplace else None,
        webhook_data={"payment_request_id": request.reference, "order_id": request.order_id},
        # The PIN just checked (or the fresh step-up) is the second factor a risky
        # payment needs.
        screening=Screening(actor.risk, actor.step_up.rates, proven=True),
    )
    if request.amount is not None:  # a dynamic request is paid once
        await conn.execute(
            "UPDATE payment_request SET status = 'paid', transaction_id = $2, paid_at = now() "
            "WHERE id = $1",
            request.id,
            transaction_id,
        )
    await emit(
        conn,
        Topic.PAYMENT_REQUEST_UPDATED,
        {
            "request_id": request.id,
            "merchant_id": request.merchant_id,
            "status": "paid",
            "transaction_id": transaction_id,
        },
    )
    return await _payment(conn, transaction_id)


async def _replay_payment(
    conn: Connection, actor: Actor, command: PayRequest, stored: dict[str, Any]
) -> MerchantPayment:
    return await _payment(conn, int(stored["transaction_id"]))


PAY_REQUEST = Command[PayRequest, MerchantPayment](
    name="payPaymentRequest",
    validate=_validate_payment,
    verify=_confirm_payment,
    fingerprint=lambda command: {
        "request": _reference(command),
        "amount": None if command.amount is None else command.amount.amount_minor,
    },
    # The override is a confirmation, not part of the request: a confirmed retry under
    # the same key is the same payment.
    policy=(_within_budget,),
    change=_pay,
    response=lambda paid: {"transaction_id": paid.transaction_id},
    replay=_replay_payment,
    around=recording_blocks,
    refusals=(
        PaymentRequestNotFound,
        PaymentRequestNotPayable,
        AmountMismatch,
        MerchantUnavailable,
        pins.PinError,
        InsufficientFunds,
        AccountNotActive,
        LimitExceeded,
        PaymentBlocked,
        WalletUnavailable,
        StepUpRequired,
        budgets.BudgetWouldBeExceeded,
    ),
)


async def pay_request(actor: Actor, command: PayRequest, idempotency_key: str) -> MerchantPayment:
    """Pay a payment request from the payer's wallet, confirmed with their PIN; exactly
    once per key."""
    return await run(PAY_REQUEST, actor, command, idempotency_key)


async def charge(
    conn: Connection,
    *,
    payer_id: int,
    merchant_id: int,
    amount: Money,
    note: str,
    payment_request_id: int | None = None,
    escrow_days: int | None = None,
    webhook_data: dict[str, Any] | None = None,
    screening: Screening | None = None,
) -> int:
    """Pay a merchant from the payer's wallet, in the caller's transaction; the sale's id.

    Refuses a merchant that compliance rejected; checks the payer's wallet and limits,
    scores the payment with the fraud rules when `screening` is given (the caller wraps
    its transaction in `recording_blocks`), credits the merchant's payable (or the
    buyer-protection escrow when `escrow_days` is given), records the sale, queues the
    merchant's webhook and tells the payer's devices.
    """
    # Every sale (payment requests, bills, scheduled bills) comes through here. Read
    # without a lock: a hot merchant's row must not collect a share lock per sale.
    approval = await conn.fetchval(
        "SELECT approval_status FROM merchant WHERE id = $1", merchant_id
    )
    if approval is None or approval == "rejected":
        raise MerchantUnavailable()
    source, _ = await spendable_account(conn, payer_id, amount, scope=LimitScope.MERCHANT)
    if screening is not None:
        attempt = Attempt(
            payer_id, None, amount, screening.context, datetime.now(UTC), merchant_id=merchant_id
        )
        await screen(conn, attempt, screening)
    sale = transactions.NewTransaction(
        type=TransactionType.PAYMENT,
        amount=amount,
        initiator_user_id=payer_id,
        note=note,
        merchant_id=merchant_id,
        payment_request_id=payment_request_id,
    )
    if escrow_days is not None:
        transaction_id = await _pay_into_escrow(conn, sale, source, escrow_days)
    else:
        # Look up first: opening takes the row's lock, and a hot payable must not be locked.
        payable = await ledger.find_account(
            conn, OwnerType.MERCHANT, merchant_id, amount.currency, PAYABLE
        ) or await open_payable(conn, merchant_id, amount.currency)
        entry_id = await ledger.post_entry(
            conn, EntryDraft.transfer("merchant_payment", source, payable, amount, note)
        )
        transaction_id, _ = await transactions.record_completed(conn, sale, entry_id)
    await webhooks.enqueue(
        conn,
        merchant_id,
        "payment.succeeded",
        {
            **(webhook_data or {}),
            "transaction_id": transaction_id,
            "amount": amount.format(),
            "currency": amount.currency.value,
        },
    )
    await emit(
        conn, Topic.BALANCE_CHANGED, {"user_id": payer_id, "currency": amount.currency.value}
    )
    return transaction_id


async def _pay_into_escrow(
    conn: Connection, sale: transactions.NewTransaction, source: int, escrow_days: int
) -> int:
    """A marketplace sale: the buyer pays into escrow; PENDING until released."""
    escrow = await ledger.system_account_id(
        conn, sale.amount.currency, Purpose.BUYER_PROTECTION_ESCROW
    )
    entry_id = await ledger.post_entry(
        conn, EntryDraft.transfer("escrow_payment", source, escrow, sale.amount)
    )
    transaction_id, _ = await transactions.create(conn, sale)
    await conn.execute(
        "UPDATE money_transaction SET escrow_release_at = now() + $2 WHERE id = $1",
        transaction_id,
        timedelta(days=escrow_days),
    )
    await transactions.transition(
        conn, transaction_id, TransactionStatus.PENDING, entry_id=entry_id
    )
    return transaction_id


def _amount_to_pay(request: PaymentRequest, offered: Money | None) -> Money:
    if request.amount is not None:
        if offered is not None and offered != request.amount:
            raise AmountMismatch(f"This request is for {request.amount.display()}")
        return request.amount
    if offered is None:
        raise AmountMismatch("Type the amount to pay")
    if offered.currency is not request.currency:
        raise AmountMismatch(f"This merchant takes {request.currency.value}")
    if not offered.is_positive:
        raise NonPositiveAmount()
    return offered


async def _payment(conn: Connection, transaction_id: int) -> MerchantPayment:
    row = await conn.fetchrow(
        "SELECT t.id, r.reference, t.amount, t.currency, t.created_at, m.name, "
        "r.order_id, r.return_url FROM money_transaction t "
        "JOIN merchant m ON m.id = t.merchant_id "
        "JOIN payment_request r ON r.id = t.payment_request_id WHERE t.id = $1",
        transaction_id,
    )
    return MerchantPayment(
        transaction_id=int(row["id"]),
        reference=row["reference"],
        amount=Money(int(row["amount"]), Currency(row["currency"])),
        merchant_name=row["name"],
        order_id=row["order_id"],
        created_at=row["created_at"],
        return_url=row["return_url"],
    )


@dataclass(frozen=True, slots=True)
class Refund:
    refund_transaction_id: int
    payment_transaction_id: int
    amount: Money
    refunded_total: Money
    fully_refunded: bool


async def authorise_refund(principal: Principal, owner_pin: str | None) -> None:
    """Who may give money back: an owner, an API key with `refunds:write`, or a cashier
    with the PIN of the shop's owner of record, typed at the till (checked here, not
    only by the app). A wrong PIN counts against the owner's PIN lock like any other."""
    if principal.may(Scope.REFUNDS_WRITE):
        return
    if principal.role is not Role.CASHIER:
        raise NotAllowed("refund payments")
    if not owner_pin:
        raise NotAllowed("refund without the owner's PIN: ask the owner to type it")
    async with connection() as conn:
        owner_id = await conn.fetchval(
            "SELECT owner_user_id FROM merchant WHERE id = $1", principal.merchant_id
        )
    try:
        await pins.verify_pin(int(owner_id), owner_pin)
    except pins.WrongPin as exc:
        raise OwnerPinRefused(
            "WRONG_PIN", f"That is not the owner's PIN; {exc.attempts_left} attempt(s) left"
        ) from exc
    except (pins.PinNotSet, pins.InvalidPinFormat) as exc:
        message = (
            "The owner has not set a transaction PIN yet"
            if isinstance(exc, pins.PinNotSet)
            else "The owner's PIN is 4 to 6 digits"
        )
        raise OwnerPinRefused("PIN_REQUIRED", message) from exc


async def refund(
    principal: Principal,
    payment_id: int,
    amount: Money | None,
    idempotency_key: str,
    owner_pin: str | None = None,
) -> Refund:
    """Give back all or part of a payment (None: all that is left); all refunds together
    never exceed it."""
    await authorise_refund(principal, owner_pin)
    return await _refund_payment(principal, payment_id, amount, idempotency_key)


async def refund_request(
    principal: Principal,
    reference: str,
    amount: Money | None,
    idempotency_key: str,
    owner_pin: str | None = None,
) -> Refund:
    """Refund the payment of one payment request, the one the till shows, and nothing
    else. A request no one has paid is `RequestNotPaid`; another merchant's, or an
    unknown reference, is `PaymentRequestNotFound`."""
    await authorise_refund(principal, owner_pin)
    found = await find_request(reference)
    if found is None or found.merchant_id != principal.merchant_id:
        raise PaymentRequestNotFound()
    if found.status != "paid" or found.transaction_id is None:
        raise RequestNotPaid(found.status)
    return await _refund_payment(principal, found.transaction_id, amount, idempotency_key)


@dataclass(frozen=True, slots=True)
class RefundPayment:
    principal: Principal  # authorised already (`authorise_refund`)
    payment_id: int
    amount: Money | None  # None: all that is left


def _validate_refund(actor: Actor, command: RefundPayment) -> None:
    if command.amount is not None and not command.amount.is_positive:
        raise NonPositiveAmount()


async def _make_refund(conn: Connection, actor: Actor, command: RefundPayment) -> Refund:
    amount = command.amount
    # Locking the payment serialises its refunds, so their sum is checked exactly.
    payment = await conn.fetchrow(
        "SELECT id, type, status, initiator_user_id, merchant_id, currency, amount, "
        "refunded_amount FROM money_transaction WHERE id = $1 FOR UPDATE",
        command.payment_id,
    )
    if payment is None or payment["merchant_id"] != command.principal.merchant_id:
        raise NotRefundable("no such payment for this merchant")
    if payment["type"] != TransactionType.PAYMENT.value:
        raise NotRefundable("it is not a payment")
    if payment["status"] != TransactionStatus.COMPLETED.value:
        raise NotRefundable(f"it is {payment['status']}")
    refundable = int(payment["amount"]) - int(payment["refunded_amount"])
    if amount is None:
        amount = Money(refundable, Currency(payment["currency"]))
    if amount.currency.value != payment["currency"]:
        raise AmountMismatch(f"The payment was in {payment['currency']}")
    if amount.amount_minor > refundable:
        raise RefundExceedsPayment(refundable)
    payer_id = int(payment["initiator_user_id"])
    payable = await ledger.find_account(
        conn, OwnerType.MERCHANT, command.principal.merchant_id, amount.currency, PAYABLE
    )
    assert payable is not None
    wallet = await open_balance(conn, payer_id, amount.currency)
    entry_id = await ledger.post_entry(
        conn,
        EntryDraft.transfer("refund", payable, wallet, amount, f"refund of {command.payment_id}"),
    )
    refund_id, _ = await transactions.record_completed(
        conn,
        transactions.NewTransaction(
            type=TransactionType.REFUND,
            amount=amount,
            initiator_user_id=None,
            counterparty_user_id=payer_id,
            merchant_id=command.principal.merchant_id,
            refund_of_id=command.payment_id,
        ),
        entry_id,
    )
    refunded = await conn.fetchval(
        "UPDATE money_transaction SET refunded_amount = refunded_amount + $2 WHERE id = $1 "
        "RETURNING refunded_amount",
        command.payment_id,
        amount.amount_minor,
    )
    if refunded == payment["amount"]:
        await transactions.transition(
            conn, command.payment_id, TransactionStatus.REVERSED, reason="fully refunded"
        )
    await rewards.reverse_for_refund(conn, command.payment_id, int(refunded))
    await webhooks.enqueue(
        conn,
        command.principal.merchant_id,
        "refund.succeeded",
        {
            "payment_transaction_id": command.payment_id,
            "refund_transaction_id": refund_id,
            "amount": amount.format(),
            "currency": amount.currency.value,
            "refunded_total": Money(int(refunded), amount.currency).format(),
        },
    )
    await emit(
        conn,
        Topic.BALANCE_CHANGED,
        {"user_id": payer_id, "currency": amount.currency.value},
    )
    return await _refund(conn, refund_id)


async def _replay_refund(
    conn: Connection, actor: Actor, command: RefundPayment, stored: dict[str, Any]
) -> Refund:
    return await _refund(conn, int(stored["refund_id"]))


REFUND_PAYMENT = Command[RefundPayment, Refund](
    name="refundPayment",
    validate=_validate_refund,
    fingerprint=lambda command: {
        "payment": command.payment_id,
        # "All that is left" is part of the request as asked, not the amount it came
        # to, so a retry after success replays instead of conflicting.
        "amount": None if command.amount is None else command.amount.amount_minor,
    },
    change=_make_refund,
    response=lambda refund: {"refund_id": refund.refund_transaction_id},
    replay=_replay_refund,
    # A merchant's keys are the merchant's: its owner, cashiers and API keys share them.
    scope=lambda actor, command: f"merchant:{command.principal.merchant_id}",
    refusals=(
        NonPositiveAmount,
        NotRefundable,
        AmountMismatch,
        RefundExceedsPayment,
        InsufficientFunds,
        AccountNotActive,
    ),
)


async def _refund_payment(
    principal: Principal, payment_id: int, amount: Money | None, idempotency_key: str
) -> Refund:
    actor = (
        Actor.merchant_key(principal.merchant_id)
        if principal.user_id is None
        else Actor.user(principal.user_id)
    )
    return await run(
        REFUND_PAYMENT, actor, RefundPayment(principal, payment_id, amount), idempotency_key
    )


async def _refund(conn: Connection, refund_id: int) -> Refund:
    row = await conn.fetchrow(
        "SELECT r.id, r.amount, r.currency, p.id AS payment_id, p.amount AS paid, "
        "p.refunded_amount FROM money_transaction r "
        "JOIN money_transaction p ON p.id = r.refund_of_id WHERE r.id = $1",
        refund_id,
    )
    currency = Currency(row["currency"])
    return Refund(
        refund_transaction_id=int(row["id"]),
        payment_transaction_id=int(row["payment_id"]),
        amount=Money(int(row["amount"]), currency),
        refunded_total=Money(int(row["refunded_amount"]), currency),
        fully_refunded=row["refunded_amount"] == row["paid"],
    )


async def payment_currency(payment_id: int) -> str | None:
    async with connection() as conn:
        value = await conn.fetchval(
            "SELECT currency FROM money_transaction WHERE id = $1", payment_id
        )
    return None if value is None else str(value)


async def payable_balances(principal: Principal) -> list[tuple[Money, Money]]:
    """(available, on its way out) of each of the merchant's payables."""
    async with connection() as conn:
        balances = await ledger.balances_of_owner(
            conn, OwnerType.MERCHANT, principal.merchant_id, PAYABLE
        )
    return [(Money(b.available, b.currency), Money(b.reserved, b.currency)) for b in balances]


@dataclass(frozen=True, slots=True)
class Sale:
    transaction_id: int
    amount: Money
    refunded: Money
    status: str
    order_id: str | None
    note: str
    created_at: datetime
    payer_name: str  # what the merchant may see of the payer: their @username, no more
    request_reference: str | None  # the dynamic payment request it paid, if any

    @property
    def refundable(self) -> Money:
        """What is left to give back (nothing once it is no longer a completed sale)."""
        if self.status != TransactionStatus.COMPLETED.value:
            return Money(0, self.amount.currency)
        return self.amount - self.refunded


_SALES = (
    "SELECT t.id, t.amount, t.refunded_amount, t.currency, t.status, t.note, "
    # A static code is not paid by a sale (it stays open): only a dynamic request is
    # the sale's own, to open and refund on the till.
    "t.created_at, r.order_id, CASE WHEN r.amount IS NOT NULL THEN r.reference END "
    "AS reference, u.username FROM money_transaction t "
    "LEFT JOIN payment_request r ON r.id = t.payment_request_id "
    "JOIN app_user u ON u.id = t.initiator_user_id "
    "WHERE t.merchant_id = $1 AND t.type = 'payment' "
)


def _sale(r: Any) -> Sale:
    currency = Currency(r["currency"])
    return Sale(
        transaction_id=int(r["id"]),
        amount=Money(int(r["amount"]), currency),
        refunded=Money(int(r["refunded_amount"]), currency),
        status=r["status"],
        order_id=r["order_id"],
        note=r["note"],
        created_at=r["created_at"],
        payer_name=f"@{r['username']}",
        request_reference=r["reference"],
    )


async def sales_of(principal: Principal, first: int = 50) -> list[Sale]:
    """The merchant's recent payments with what was refunded of each, newest first."""
    if not principal.may(Scope.PAYMENTS_READ):
        raise NotAllowed("see payments")
    async with connection() as conn:
        rows = await conn.fetch(
            _SALES + "ORDER BY t.id DESC LIMIT $2", principal.merchant_id, max(1, min(first, 200))
        )
    return [_sale(r) for r in rows]


async def sale_changed_by(merchant_id: int, transaction_id: int) -> Sale | None:
    """The merchant's sale a transaction made or changed: a payment's own, a refund's
    paid sale; None for anything else (a fee, a payout)."""
    async with connection() as conn:
        row = await conn.fetchrow(
            _SALES  # noqa: S608 (constant text)
            + "AND t.id = (SELECT coalesce(x.refund_of_id, x.id) FROM money_transaction x "
            "WHERE x.id = $2 AND x.merchant_id = $1)",
            merchant_id,
            transaction_id,
        )
    return None if row is None else _sale(row)


async def sale_of(merchant_id: int, transaction_id: int) -> Sale | None:
    """One of the merchant's sales (the payment of a request it was shown); None when
    the transaction is not a payment to this merchant."""
    async with connection() as conn:
        row = await conn.fetchrow(_SALES + "AND t.id = $2", merchant_id, transaction_id)
    return None if row is None else _sale(row)
