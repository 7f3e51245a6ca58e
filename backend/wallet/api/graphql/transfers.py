"""GraphQL surface of person-to-person transfers: `sendMoney`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from wallet.api.graphql.context import Info
from wallet.api.graphql.errors import (
    ErrorCode,
    IdempotencyConflict,
    InsufficientFunds,
    LimitExceeded,
    NotAuthenticated,
    NotFound,
    ValidationError,
    WalletUnavailable,
    not_authenticated,
    validation_error,
)
from wallet.idempotency import service as idempotency
from wallet.ledger import errors as ledger_errors
from wallet.limits.service import LimitExceeded as LimitBreach
from wallet.money import Currency, Money, MoneyError, UnknownCurrency
from wallet.transfers import errors as transfer_errors
from wallet.transfers.service import SendMoney, TransferReceipt, send_money


@strawberry.type(name="Transfer")
class TransferType:
    id: strawberry.ID
    status: str
    amount: str
    currency: str
    note: str
    recipient_username: str
    created_at: datetime

    @classmethod
    def from_receipt(cls, r: TransferReceipt) -> TransferType:
        return cls(
            id=strawberry.ID(str(r.transaction_id)),
            status=r.status.upper(),
            amount=Money(r.amount_minor, Currency(r.currency)).format(),
            currency=r.currency,
            note=r.note,
            recipient_username=r.recipient_username,
            created_at=datetime.fromisoformat(r.created_at),
        )


@strawberry.input
class SendMoneyInput:
    recipient: str = strawberry.field(description="Phone number, email or @username.")
    amount: str = strawberry.field(description='Decimal string, e.g. "12.34".')
    currency: str = "USD"
    note: str = ""
    idempotency_key: str


@strawberry.type
class SendMoneyPayload:
    transfer: TransferType


SendMoneyResult = Annotated[
    SendMoneyPayload
    | InsufficientFunds
    | LimitExceeded
    | NotFound
    | ValidationError
    | IdempotencyConflict
    | WalletUnavailable
    | NotAuthenticated,
    strawberry.union("SendMoneyResult"),
]


def _refusal(exc: Exception, currency: Currency) -> SendMoneyResult:
    """The typed error for a refused transfer (nothing was written)."""
    match exc:
        case ledger_errors.InsufficientFunds():
            available = Money(max(exc.available, 0), currency).format()
            return InsufficientFunds(
                code=ErrorCode.INSUFFICIENT_FUNDS,
                available=available,
                message=f"Not enough money: {available} available",
            )
        case LimitBreach():
            return LimitExceeded(
                code=ErrorCode.LIMIT_EXCEEDED,
                limit=exc.kind.value,
                maximum=exc.limit.format(),
                remaining=exc.remaining.format(),
                message=f"This is over your {exc.kind.value.lower()} limit; "
                f"{exc.remaining.format()} {currency.value} remaining",
            )
        case transfer_errors.RecipientNotFound():
            return NotFound(code=ErrorCode.NOT_FOUND, message=str(exc))
        case transfer_errors.WalletUnavailable() | ledger_errors.AccountNotActive():
            return WalletUnavailable(code=ErrorCode.WALLET_UNAVAILABLE, message=str(exc))
        case idempotency.IdempotencyConflict():
            return IdempotencyConflict(code=ErrorCode.IDEMPOTENCY_CONFLICT, message=str(exc))
        case idempotency.InvalidIdempotencyKey():
            return validation_error("idempotencyKey", "INVALID", str(exc))
        case transfer_errors.InvalidRecipient() | transfer_errors.SelfTransfer():
            return validation_error("recipient", "INVALID", str(exc))
        case transfer_errors.NoteTooLong():
            return validation_error("note", "TOO_LONG", str(exc))
        case _:
            return validation_error("amount", "INVALID", str(exc))


@strawberry.type
class TransferMutation:
    @strawberry.mutation(description="Send money now to a registered user.")
    async def send_money(self, info: Info, input: SendMoneyInput) -> SendMoneyResult:
        user = await info.context.viewer()
        if user is None:
            return not_authenticated()
        try:
            amount = Money.parse(input.amount, input.currency)
        except MoneyError as exc:
            field = "currency" if isinstance(exc, UnknownCurrency) else "amount"
            return validation_error(field, "INVALID", str(exc))
        try:
            receipt = await send_money(
                SendMoney(user.id, input.recipient, amount, input.note, input.idempotency_key)
            )
        except (
            ledger_errors.InsufficientFunds,
            ledger_errors.AccountNotActive,
            LimitBreach,
            transfer_errors.TransferError,
            idempotency.IdempotencyError,
        ) as exc:
            return _refusal(exc, amount.currency)
        return SendMoneyPayload(transfer=TransferType.from_receipt(receipt))
