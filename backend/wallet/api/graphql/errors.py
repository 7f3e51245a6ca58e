"""Typed errors returned as members of mutation result unions, and error masking."""

from __future__ import annotations

from enum import Enum

import strawberry
from graphql.error import GraphQLError

from wallet import metrics


@strawberry.enum
class ErrorCode(Enum):
    VALIDATION_ERROR = "VALIDATION_ERROR"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    RATE_LIMITED = "RATE_LIMITED"
    NOT_AUTHENTICATED = "NOT_AUTHENTICATED"
    INSUFFICIENT_FUNDS = "INSUFFICIENT_FUNDS"
    LIMIT_EXCEEDED = "LIMIT_EXCEEDED"
    NOT_FOUND = "NOT_FOUND"
    IDEMPOTENCY_CONFLICT = "IDEMPOTENCY_CONFLICT"
    WALLET_UNAVAILABLE = "WALLET_UNAVAILABLE"
    FORBIDDEN = "FORBIDDEN"
    QUOTE_EXPIRED = "QUOTE_EXPIRED"
    RATES_UNAVAILABLE = "RATES_UNAVAILABLE"
    STEP_UP_REQUIRED = "STEP_UP_REQUIRED"
    PAYMENT_BLOCKED = "PAYMENT_BLOCKED"
    BUDGET_WOULD_BE_EXCEEDED = "BUDGET_WOULD_BE_EXCEEDED"
    SECOND_FACTOR_REQUIRED = "SECOND_FACTOR_REQUIRED"
    SANCTIONS_MATCH_OPEN = "SANCTIONS_MATCH_OPEN"
    STATEMENT_MISMATCH = "STATEMENT_MISMATCH"
    REFRESH_TOKEN_INVALID = "REFRESH_TOKEN_INVALID"  # noqa: S105 (an error code)
    REFRESH_TOKEN_REUSED = "REFRESH_TOKEN_REUSED"  # noqa: S105 (an error code)
    DEVICE_MISMATCH = "DEVICE_MISMATCH"
    REFRESH_IN_PROGRESS = "REFRESH_IN_PROGRESS"
    PREFERENCE_LOCKED = "PREFERENCE_LOCKED"


@strawberry.interface(description="Every typed error has a machine code and a human message.")
class UserError:
    code: ErrorCode
    message: str

    def __post_init__(self) -> None:
        # Every typed refusal the API answers is counted by its code (wallet.metrics).
        metrics.GRAPHQL_ERRORS.labels(self.code.value).inc()


@strawberry.type
class FieldError:
    field: str
    code: str
    message: str
    maximum: int | None = strawberry.field(
        default=None, description="The bound, when the value was over it (TOO_LONG, TOO_MANY)."
    )


@strawberry.type
class ValidationError(UserError):
    field_errors: list[FieldError]


@strawberry.type
class InvalidCredentials(UserError):
    pass


@strawberry.type
class RateLimited(UserError):
    retry_after_seconds: int


@strawberry.type
class NotAuthenticated(UserError):
    pass


@strawberry.type
class InsufficientFunds(UserError):
    available: str = strawberry.field(description="What the wallet can spend, as a decimal.")


@strawberry.type
class LimitExceeded(UserError):
    limit: str = strawberry.field(
        description="Which limit: PER_TRANSACTION, DAILY, MONTHLY, BALANCE_CAP or "
        "CROSS_BORDER (needs full KYC)."
    )
    scope: str = strawberry.field(
        description="What it limits: SEND, ADD, WITHDRAW, MERCHANT, or RECEIVE (the "
        "recipient's balance cap)."
    )
    maximum: str = strawberry.field(description="The limit, in the movement's currency.")
    remaining: str = strawberry.field(description="What is left of it, same currency.")


@strawberry.type(
    description="The payment would take a strict budget over. Confirm it with the person "
    "and retry with the same idempotency key and overrideBudget: true."
)
class BudgetWouldBeExceeded(UserError):
    budget_id: strawberry.ID
    category: str = strawberry.field(description="The budget's category, e.g. FOOD.")
    spent: str = strawberry.field(description="Spent of it this month, before this payment.")
    limit: str = strawberry.field(description="This month's budget, rollover included.")
    amount: str = strawberry.field(description="This payment, in the budget's currency.")
    currency: str


@strawberry.type
class NotFound(UserError):
    pass


@strawberry.type
class Forbidden(UserError):
    pass


@strawberry.type
class IdempotencyConflict(UserError):
    pass


@strawberry.type
class WalletUnavailable(UserError):
    pass


@strawberry.enum(description="A second factor that can confirm a sensitive action.")
class StepUpMethod(Enum):
    PIN = "PIN"
    TOTP = "TOTP"
    PASSKEY = "PASSKEY"
    CONTACT_CODE = strawberry.enum_value(
        "CONTACT_CODE",
        description="Your password plus a code sent to your email or phone "
        "(sendStepUpCode): for accounts with no second factor yet.",
    )


@strawberry.type(
    description="Confirm it is you (verifyStepUp with one of `methods`), then retry the "
    "same request with the same idempotency key. Changing credentials takes a factor you "
    "had before this session began."
)
class StepUpRequired(UserError):
    methods: list[StepUpMethod]


@strawberry.type(
    description="The password was right; now prove the second factor: completeLogIn with "
    "this ticket and an authenticator (or recovery) code, or sign in with a passkey."
)
class SecondFactorRequired(UserError):
    ticket: str
    methods: list[StepUpMethod]


@strawberry.type(description="The fraud checks refused this payment; nothing was moved.")
class PaymentBlocked(UserError):
    pass


@strawberry.type(description="The FX quote ran out of time; ask for a new one.")
class QuoteExpired(UserError):
    pass


@strawberry.type(description="No fresh exchange rate is available right now; try again soon.")
class RatesUnavailable(UserError):
    pass


def validation_error(field: str, code: str, message: str) -> ValidationError:
    return ValidationError(
        code=ErrorCode.VALIDATION_ERROR,
        message=message,
        field_errors=[FieldError(field=field, code=code, message=message)],
    )


def not_authenticated() -> NotAuthenticated:
    return NotAuthenticated(code=ErrorCode.NOT_AUTHENTICATED, message="Log in first")


class PublicError(Exception):
    """An error whose message is safe to show in the top-level `errors` list."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.extensions: dict[str, object] = {"code": code.value}


def should_mask_error(error: GraphQLError) -> bool:
    """Hide unexpected exceptions; keep validation errors (also those found while
    coercing variables, which graphql-core wraps) and `PublicError`s."""
    original = error.original_error
    return original is not None and not isinstance(original, PublicError | GraphQLError)
