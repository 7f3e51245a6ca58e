"""Domain refusals of money commands, mapped to the typed GraphQL errors.

Every money mutation's result union includes all of `MoneyErrors`, so any refusal a
service raises has a typed member to land in.
"""

from __future__ import annotations

from datetime import UTC, datetime

from wallet.api.graphql.errors import (
    ErrorCode,
    Forbidden,
    IdempotencyConflict,
    InsufficientFunds,
    LimitExceeded,
    NotAuthenticated,
    NotFound,
    PaymentBlocked,
    QuoteExpired,
    RateLimited,
    RatesUnavailable,
    StepUpMethod,
    StepUpRequired,
    ValidationError,
    WalletUnavailable,
    validation_error,
)
from wallet.exports import service as exports
from wallet.fraud import service as fraud
from wallet.fx import errors as fx_errors
from wallet.fx import rates as fx_rates
from wallet.fx.pricing import AmountTooSmall
from wallet.gateway.base import InvalidPaymentDetails
from wallet.goals import service as goals
from wallet.idempotency import service as idempotency
from wallet.insights import categories, reminders
from wallet.ledger import errors as ledger_errors
from wallet.limits.service import LimitExceeded as LimitBreach
from wallet.limits.service import LimitKind, LimitScope
from wallet.merchants import errors as merchant_errors
from wallet.money import Currency, CurrencyMismatch, Money, MoneyError, UnknownCurrency
from wallet.payments import errors as payment_errors
from wallet.requests import errors as request_errors
from wallet.rewards import service as rewards
from wallet.security import stepup
from wallet.splits import errors as split_errors
from wallet.transfers import errors as transfer_errors
from wallet.users import pin
from wallet.wallets import service as wallets

MoneyErrors = (
    InsufficientFunds
    | LimitExceeded
    | NotFound
    | ValidationError
    | IdempotencyConflict
    | WalletUnavailable
    | Forbidden
    | RateLimited
    | NotAuthenticated
    | QuoteExpired
    | RatesUnavailable
    | StepUpRequired
    | PaymentBlocked
)

# What a money service may raise for a refused command (nothing was written).
REFUSALS: tuple[type[Exception], ...] = (
    ledger_errors.InsufficientFunds,
    ledger_errors.AccountNotActive,
    LimitBreach,
    transfer_errors.TransferError,
    payment_errors.PaymentError,
    request_errors.RequestError,
    InvalidPaymentDetails,
    idempotency.IdempotencyError,
    merchant_errors.MerchantError,
    pin.PinError,
    fx_errors.FxError,
    fx_rates.RatesUnavailable,
    AmountTooSmall,
    MoneyError,
    wallets.BalanceNotEmpty,
    wallets.LastBalance,
    wallets.BalanceNotFound,
    split_errors.SplitError,
    categories.CategoryError,
    goals.GoalError,
    exports.ExportError,
    rewards.RewardError,
    reminders.ReminderError,
    stepup.StepUpRequired,
    fraud.PaymentBlocked,
)


def refusal(exc: Exception, currency: Currency) -> MoneyErrors:
    """The typed error for a refused command."""
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
                scope=exc.scope.value,
                maximum=exc.limit.format(),
                remaining=exc.remaining.format(),
                message=limit_message(exc),
            )
        case fraud.PaymentBlocked():
            return PaymentBlocked(code=ErrorCode.PAYMENT_BLOCKED, message=str(exc))
        case fx_errors.QuoteExpired():
            return QuoteExpired(code=ErrorCode.QUOTE_EXPIRED, message=str(exc))
        case fx_rates.RatesUnavailable():
            return RatesUnavailable(code=ErrorCode.RATES_UNAVAILABLE, message=str(exc))
        case fx_errors.QuoteNotFound() | wallets.BalanceNotFound():
            return NotFound(code=ErrorCode.NOT_FOUND, message=str(exc))
        case fx_errors.QuoteAlreadyUsed() | fx_errors.QuoteMismatch():
            return validation_error("quoteId", "INVALID", str(exc))
        case fx_errors.SameCurrency():
            return validation_error("buy", "SAME_CURRENCY", str(exc))
        case UnknownCurrency() | CurrencyMismatch():
            return validation_error("currency", "INVALID", str(exc))
        case AmountTooSmall():
            return validation_error("amount", "TOO_SMALL", str(exc))
        case wallets.BalanceNotEmpty():
            return validation_error("currency", "NOT_EMPTY", str(exc))
        case wallets.LastBalance():
            return validation_error("currency", "LAST_BALANCE", str(exc))
        case stepup.StepUpRequired():
            return StepUpRequired(
                code=ErrorCode.STEP_UP_REQUIRED,
                message=str(exc),
                methods=[StepUpMethod(m) for m in exc.methods],
            )
        case reminders.ReminderError():
            return validation_error(exc.field, "INVALID", str(exc))
        case rewards.RewardError():
            return validation_error(exc.field, "INVALID", str(exc))
        case exports.ExportError():
            return validation_error(exc.field, "INVALID", str(exc))
        case goals.GoalNotFound():
            return NotFound(code=ErrorCode.NOT_FOUND, message=str(exc))
        case goals.GoalError():
            return validation_error(exc.field, "INVALID", str(exc))
        case categories.UnknownTransaction():
            return NotFound(code=ErrorCode.NOT_FOUND, message=str(exc))
        case categories.CategoryError():
            return validation_error(exc.field, "INVALID", str(exc))
        case split_errors.GroupNotFound() | split_errors.InvitationNotFound():
            return NotFound(code=ErrorCode.NOT_FOUND, message=str(exc))
        case split_errors.InvitationPending():
            return validation_error(exc.field, "INVITATION_PENDING", str(exc))
        case split_errors.NotAMember():
            return validation_error(exc.field, "NOT_A_MEMBER", str(exc))
        case split_errors.InvalidGroup():
            return validation_error(exc.field, "INVALID", str(exc))
        case split_errors.SplitDoesNotAddUp():
            return validation_error("values", "DOES_NOT_ADD_UP", str(exc))
        case split_errors.NotSplittable():
            return validation_error("transactionId", "NOT_SPLITTABLE", str(exc))
        case split_errors.NothingToSettle():
            return validation_error("groupId", "NOTHING_TO_SETTLE", str(exc))
        case (
            transfer_errors.RecipientNotFound()
            | payment_errors.PaymentMethodNotFound()
            | request_errors.RequestNotFound()
        ):
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
        case InvalidPaymentDetails():
            return validation_error(exc.field, "INVALID", str(exc))
        case payment_errors.WrongPaymentMethodKind() | payment_errors.TooManyPaymentMethods():
            return validation_error("paymentMethodId", "INVALID", str(exc))
        case request_errors.RequestExpiryOutOfRange():
            return validation_error("expiresInDays", "OUT_OF_RANGE", str(exc))
        case request_errors.RequestNotOpen():
            return validation_error("requestId", exc.status.upper(), str(exc))
        case merchant_errors.MerchantNotFound() | merchant_errors.PaymentRequestNotFound():
            return NotFound(code=ErrorCode.NOT_FOUND, message=str(exc))
        case merchant_errors.NotAllowed():
            return Forbidden(code=ErrorCode.FORBIDDEN, message=str(exc))
        case merchant_errors.PaymentRequestNotPayable():
            return validation_error("requestId", exc.status.upper(), str(exc))
        case merchant_errors.AmountMismatch():
            return validation_error("amount", "MISMATCH", str(exc))
        case merchant_errors.RefundExceedsPayment():
            return validation_error("amount", "EXCEEDS_PAYMENT", str(exc))
        case merchant_errors.NotRefundable():
            return validation_error("transactionId", "NOT_REFUNDABLE", str(exc))
        case merchant_errors.ScheduleNotActive():
            return validation_error("scheduleId", "NOT_ACTIVE", str(exc))
        case merchant_errors.RequestNotPaid():
            return validation_error("requestId", "NOT_PAID", str(exc))
        case merchant_errors.OwnerPinRefused():
            return validation_error("ownerPin", exc.code, str(exc))
        case merchant_errors.DuplicateOrder():
            return validation_error("orderId", "DUPLICATE", str(exc))
        case merchant_errors.InvalidMerchantDetails():
            return validation_error(exc.field, "INVALID", str(exc))
        case pin.PinLocked():
            seconds = max(int((exc.until - datetime.now(UTC)).total_seconds()), 1)
            return RateLimited(
                code=ErrorCode.RATE_LIMITED, message=str(exc), retry_after_seconds=seconds
            )
        case pin.WrongPin():
            return validation_error("pin", "WRONG_PIN", str(exc))
        case pin.PinNotSet() | pin.InvalidPinFormat() | pin.PinRequired():
            return validation_error("pin", "PIN_REQUIRED", str(exc))
        case _:
            return validation_error("amount", "INVALID", str(exc))


def parse_amount(amount: str, currency: str) -> Money | ValidationError:
    """The money a client typed, or the validation error that says what is wrong with it."""
    try:
        return Money.parse(amount, currency)
    except MoneyError as exc:
        field = "currency" if isinstance(exc, UnknownCurrency) else "amount"
        return validation_error(field, "INVALID", str(exc))


_SCOPE_WORDS = {
    LimitScope.SEND: "sending",
    LimitScope.ADD: "adding money",
    LimitScope.WITHDRAW: "withdrawals",
    LimitScope.MERCHANT: "payments to merchants",
}
_PERIOD_WORDS = {
    LimitKind.PER_TRANSACTION: "per-transaction",
    LimitKind.DAILY: "daily",
    LimitKind.MONTHLY: "monthly",
}


def limit_message(exc: LimitBreach) -> str:
    """Which limit was hit and what remains, in the words the limits page uses."""
    maximum = f"{exc.limit.format()} {exc.limit.currency.value}"
    left = f"{exc.remaining.format()} {exc.remaining.currency.value}"
    match exc.kind, exc.scope:
        case LimitKind.CROSS_BORDER, _:
            return f"Cross-currency transfers worth more than {maximum} need full verification"
        case LimitKind.BALANCE_CAP, LimitScope.RECEIVE:
            return "The recipient's wallet cannot hold this much; try a smaller amount"
        case LimitKind.BALANCE_CAP, _:
            return f"Your wallet may hold up to {maximum}; you can add {left} more"
        case _:
            return (
                f"This is over your {_PERIOD_WORDS[exc.kind]} limit for "
                f"{_SCOPE_WORDS[exc.scope]} ({maximum}); {left} remaining"
            )
