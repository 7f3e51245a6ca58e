"""Refusals: a command said no, and wrote nothing.

Every domain's errors derive from `Refusal`, which carries all an edge needs to answer
without knowing the domain: a `kind` (which typed answer: invalid input, not found,
insufficient funds…), a machine `code`, the input `field` it concerns, and a plain
`message`. The GraphQL layer maps any refusal by its kind (`wallet.api.graphql.refusals`),
so a new refusal needs no registration there and is never masked as a server error.

The few kinds whose answer carries data (the available balance, a limit, when to retry,
which second factors) have a base class here that names that data.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum
from typing import ClassVar, Protocol


class RefusalKind(Enum):
    """Which typed answer a refusal becomes (one GraphQL error type each)."""

    INVALID = "INVALID"  # the input: `field` and `code` say what is wrong with it
    NOT_FOUND = "NOT_FOUND"
    FORBIDDEN = "FORBIDDEN"
    INSUFFICIENT_FUNDS = "INSUFFICIENT_FUNDS"
    LIMIT_EXCEEDED = "LIMIT_EXCEEDED"
    WALLET_UNAVAILABLE = "WALLET_UNAVAILABLE"
    IDEMPOTENCY_CONFLICT = "IDEMPOTENCY_CONFLICT"
    RATE_LIMITED = "RATE_LIMITED"
    STEP_UP_REQUIRED = "STEP_UP_REQUIRED"
    PAYMENT_BLOCKED = "PAYMENT_BLOCKED"
    QUOTE_EXPIRED = "QUOTE_EXPIRED"
    RATES_UNAVAILABLE = "RATES_UNAVAILABLE"
    BUDGET_WOULD_BE_EXCEEDED = "BUDGET_WOULD_BE_EXCEEDED"


class Amount(Protocol):
    """Money as a refusal shows it (`wallet.money.Money`, which this module must not
    import: money's own errors are refusals)."""

    def format(self) -> str: ...


class Refusal(Exception):
    """A command refused for a reason its caller can act on; nothing was written.

    `kind` is fixed per class. `code` and `field` are class defaults that an instance
    may set (an error about one of several fields names the one it means). `str()` of a
    refusal is its `message`, in words fit to show the person who asked."""

    kind: ClassVar[RefusalKind] = RefusalKind.INVALID
    code: str = "INVALID"
    field: str = "input"

    @property
    def message(self) -> str:
        return str(self)


class NotFound(Refusal):
    kind = RefusalKind.NOT_FOUND
    code = "NOT_FOUND"


class Forbidden(Refusal):
    kind = RefusalKind.FORBIDDEN
    code = "FORBIDDEN"


class Unavailable(Refusal):
    """A wallet or account that cannot take part now (frozen, restricted, closed)."""

    kind = RefusalKind.WALLET_UNAVAILABLE
    code = "WALLET_UNAVAILABLE"


class ShortOfFunds(Refusal):
    """`available` is what could be spent, in minor units of the movement's currency."""

    kind = RefusalKind.INSUFFICIENT_FUNDS
    code = "INSUFFICIENT_FUNDS"
    available: int


class OverLimit(Refusal):
    """A limit the movement would break: which (`limit_name`, `scope_name`), its
    `maximum` and what `remaining` of it, both in the movement's currency."""

    kind = RefusalKind.LIMIT_EXCEEDED
    code = "LIMIT_EXCEEDED"
    limit_name: str
    scope_name: str
    maximum: Amount
    remaining: Amount


class Throttled(Refusal):
    """Refused until `until`; the caller may try again after it."""

    kind = RefusalKind.RATE_LIMITED
    code = "RATE_LIMITED"
    until: datetime

    def retry_after_seconds(self, now: datetime | None = None) -> int:
        left = (self.until - (now or datetime.now(UTC))).total_seconds()
        return max(int(left), 1)


class NeedsStepUp(Refusal):
    """The person must first confirm it is them with one of `methods` (PIN, TOTP…)."""

    kind = RefusalKind.STEP_UP_REQUIRED
    code = "STEP_UP_REQUIRED"
    methods: list[str]


class OverBudget(Refusal):
    """The payment would take one of the person's strict budgets over: which budget
    (`budget_id`, `category`), what is `spent` of its `limit` this month, and this
    payment's `amount`, all in the budget's currency. A retry that says the person
    confirmed it (`overrideBudget`) passes."""

    kind = RefusalKind.BUDGET_WOULD_BE_EXCEEDED
    code = "BUDGET_WOULD_BE_EXCEEDED"
    budget_id: int
    category: str
    spent: Amount
    limit: Amount
    amount: Amount


class Blocked(Refusal):
    """The fraud checks refused the payment."""

    kind = RefusalKind.PAYMENT_BLOCKED
    code = "PAYMENT_BLOCKED"


class Conflict(Refusal):
    """The idempotency key was used before for a different request."""

    kind = RefusalKind.IDEMPOTENCY_CONFLICT
    code = "IDEMPOTENCY_CONFLICT"


class Expired(Refusal):
    """What the command relied on (a quote) ran out of time."""

    kind = RefusalKind.QUOTE_EXPIRED
    code = "QUOTE_EXPIRED"


class TryLater(Refusal):
    """A source the command needs (exchange rates) is not available right now."""

    kind = RefusalKind.RATES_UNAVAILABLE
    code = "RATES_UNAVAILABLE"


class NonPositiveAmount(Refusal):
    """Shared by every command that moves an amount."""

    field = "amount"

    def __init__(self) -> None:
        super().__init__("The amount must be greater than zero")
