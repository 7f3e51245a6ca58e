"""Refusals of commands, mapped to the typed GraphQL errors by their kind.

Every domain error derives from `wallet.errors.Refusal`; `refusal()` turns any of them
into its union member from the refusal's kind, code, field and message, so this module
knows no domain and a new refusal needs nothing here. Every money mutation's result union
includes all of `MoneyErrors`, so any refusal a service raises has a member to land in.
"""

from __future__ import annotations

from collections.abc import Callable

import strawberry

from wallet.api.graphql.errors import (
    BudgetWouldBeExceeded,
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
from wallet.errors import (
    NeedsStepUp,
    OverBudget,
    OverLimit,
    Refusal,
    RefusalKind,
    ShortOfFunds,
    Throttled,
)
from wallet.money import Currency, Money, MoneyError, UnknownCurrency

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
    | BudgetWouldBeExceeded
)

# What a service may raise for a refused command (nothing was written): every refusal.
REFUSALS: tuple[type[Exception], ...] = (Refusal,)


def _insufficient(exc: Refusal, currency: Currency) -> MoneyErrors:
    assert isinstance(exc, ShortOfFunds)
    available = Money(max(exc.available, 0), currency)
    return InsufficientFunds(
        code=ErrorCode.INSUFFICIENT_FUNDS,
        available=available.format(),
        message=f"You don't have enough money for this: {available.display()} available",
    )


def _over_limit(exc: Refusal, _: Currency) -> MoneyErrors:
    assert isinstance(exc, OverLimit)
    return LimitExceeded(
        code=ErrorCode.LIMIT_EXCEEDED,
        limit=exc.limit_name,
        scope=exc.scope_name,
        maximum=exc.maximum.format(),
        remaining=exc.remaining.format(),
        message=exc.message,
    )


def _throttled(exc: Refusal, _: Currency) -> MoneyErrors:
    assert isinstance(exc, Throttled)
    return RateLimited(
        code=ErrorCode.RATE_LIMITED,
        message=exc.message,
        retry_after_seconds=exc.retry_after_seconds(),
    )


def _step_up(exc: Refusal, _: Currency) -> MoneyErrors:
    assert isinstance(exc, NeedsStepUp)
    return StepUpRequired(
        code=ErrorCode.STEP_UP_REQUIRED,
        message=exc.message,
        methods=[StepUpMethod(m) for m in exc.methods],
    )


def _over_budget(exc: Refusal, currency: Currency) -> MoneyErrors:
    assert isinstance(exc, OverBudget)
    return BudgetWouldBeExceeded(
        code=ErrorCode.BUDGET_WOULD_BE_EXCEEDED,
        message=exc.message,
        budget_id=strawberry.ID(str(exc.budget_id)),
        category=exc.category.upper(),
        spent=exc.spent.format(),
        limit=exc.limit.format(),
        amount=exc.amount.format(),
        currency=currency.value,
    )


# The union member of each kind. The kinds whose member carries data have a base class
# in `wallet.errors` naming it; every other member is its code and the message.
_MEMBERS: dict[RefusalKind, Callable[[Refusal, Currency], MoneyErrors]] = {
    RefusalKind.INVALID: lambda e, _: validation_error(e.field, e.code, e.message),
    RefusalKind.NOT_FOUND: lambda e, _: NotFound(code=ErrorCode.NOT_FOUND, message=e.message),
    RefusalKind.FORBIDDEN: lambda e, _: Forbidden(code=ErrorCode.FORBIDDEN, message=e.message),
    RefusalKind.WALLET_UNAVAILABLE: lambda e, _: WalletUnavailable(
        code=ErrorCode.WALLET_UNAVAILABLE, message=e.message
    ),
    RefusalKind.IDEMPOTENCY_CONFLICT: lambda e, _: IdempotencyConflict(
        code=ErrorCode.IDEMPOTENCY_CONFLICT, message=e.message
    ),
    RefusalKind.PAYMENT_BLOCKED: lambda e, _: PaymentBlocked(
        code=ErrorCode.PAYMENT_BLOCKED, message=e.message
    ),
    RefusalKind.QUOTE_EXPIRED: lambda e, _: QuoteExpired(
        code=ErrorCode.QUOTE_EXPIRED, message=e.message
    ),
    RefusalKind.RATES_UNAVAILABLE: lambda e, _: RatesUnavailable(
        code=ErrorCode.RATES_UNAVAILABLE, message=e.message
    ),
    RefusalKind.INSUFFICIENT_FUNDS: _insufficient,
    RefusalKind.LIMIT_EXCEEDED: _over_limit,
    RefusalKind.RATE_LIMITED: _throttled,
    RefusalKind.STEP_UP_REQUIRED: _step_up,
    RefusalKind.BUDGET_WOULD_BE_EXCEEDED: _over_budget,
}


def refusal(exc: Exception, currency: Currency) -> MoneyErrors:
    """The typed error for a refused command. `currency` is the movement's, for amounts
    a refusal gives in minor units (the available balance)."""
    if not isinstance(exc, Refusal):
        # Only refusals are caught for this; anything else is a bug, and stays one.
        raise exc
    return _MEMBERS[exc.kind](exc, currency)


def parse_amount(amount: str, currency: str) -> Money | ValidationError:
    """The money a client typed, or the validation error that says what is wrong with it."""
    try:
        return Money.parse(amount, currency)
    except MoneyError as exc:
        field = "currency" if isinstance(exc, UnknownCurrency) else "amount"
        return validation_error(field, "INVALID", str(exc))
