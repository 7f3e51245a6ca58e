"""Every domain refusal becomes a typed GraphQL error by its kind, none is masked, and
the mutations' unions name only errors that refusals (or sign-in) produce."""

import importlib
import inspect
import pkgutil
from datetime import UTC, date, datetime, timedelta
from typing import Any, get_args

import pytest

import wallet
from graphql import GraphQLUnionType
from wallet.api.graphql.errors import ErrorCode, RateLimited, ValidationError
from wallet.api.graphql.refusals import _MEMBERS, MoneyErrors, refusal
from wallet.api.graphql.schema import build_schema
from wallet.errors import (
    NeedsStepUp,
    OverBudget,
    OverLimit,
    Refusal,
    RefusalKind,
    ShortOfFunds,
    Throttled,
)
from wallet.insights.budgets import Budget, BudgetImpact, BudgetStatus
from wallet.insights.categories import Category
from wallet.ledger.errors import InsufficientFunds
from wallet.limits.service import LimitExceeded, LimitKind, LimitScope
from wallet.money import Currency, Money, UnknownCurrency
from wallet.requests.errors import RequestNotOpen
from wallet.users.pin import PinLocked, WrongPin

for found in pkgutil.walk_packages(wallet.__path__, "wallet."):
    importlib.import_module(found.name)

# Kinds whose GraphQL member carries data, and the base class that names that data.
PAYLOAD_BASES: dict[RefusalKind, type[Refusal]] = {
    RefusalKind.INSUFFICIENT_FUNDS: ShortOfFunds,
    RefusalKind.LIMIT_EXCEEDED: OverLimit,
    RefusalKind.RATE_LIMITED: Throttled,
    RefusalKind.STEP_UP_REQUIRED: NeedsStepUp,
    RefusalKind.BUDGET_WOULD_BE_EXCEEDED: OverBudget,
}
# Typed errors that are not refusals of a command: who you are (signing in, renewing a
# mobile session), and one KYC decision.
NOT_REFUSALS = {
    "NotAuthenticated",
    "InvalidCredentials",
    "SecondFactorRequired",
    "RefreshTokenInvalid",
    "RefreshTokenReused",
    "DeviceMismatch",
    "RefreshInProgress",
}
# PreferenceLocked: a setting that cannot change (security alerts), not a refused command.
KNOWN_OTHERS = {"SanctionsMatchOpen", "PreferenceLocked"}


def _all_refusals() -> list[type[Refusal]]:
    found: list[type[Refusal]] = []
    todo = [Refusal]
    while todo:
        for sub in todo.pop().__subclasses__():
            found.append(sub)
            todo.append(sub)
    return sorted(set(found), key=lambda c: f"{c.__module__}.{c.__qualname__}")


def _sample(name: str, annotation: Any) -> Any:
    text = str(annotation)
    if name == "methods":
        return ["PIN"]
    if "BudgetImpact" in text:
        usd = Currency.USD
        food = Budget(3, Category.FOOD, Money(5_000, usd), False, (80,), date(2026, 12, 1), True)
        status = BudgetStatus(food, food.starts_month, Money(5_000, usd), Money(4_500, usd))
        return BudgetImpact(status, Money(1_000, usd))
    for marker, value in (
        ("datetime", datetime.now(UTC) + timedelta(minutes=2)),
        ("Currency", Currency.USD),
        ("Money", Money(1234, Currency.USD)),
        ("LimitKind", LimitKind.DAILY),
        ("LimitScope", LimitScope.SEND),
        ("int", 7),
    ):
        if marker in text:
            return value
    return f"some {name}"


def _build(cls: type[Refusal]) -> Refusal:
    parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
    if any(p.kind is p.VAR_POSITIONAL for p in parameters):
        return cls("Refused for a reason")
    arguments = {p.name: _sample(p.name, p.annotation) for p in parameters if p.default is p.empty}
    return cls(**arguments)


# The bases in wallet.errors are abstract for the payload kinds: only their subclasses,
# which fill in the data, are raised.
RAISED = [c for c in _all_refusals() if c not in set(PAYLOAD_BASES.values())]


def test_the_codebase_has_its_refusals() -> None:
    assert len(RAISED) > 70


@pytest.mark.parametrize("cls", RAISED, ids=lambda c: c.__qualname__)
def test_every_refusal_becomes_the_typed_error_of_its_kind(cls: type[Refusal]) -> None:
    exc = _build(cls)
    answer = refusal(exc, Currency.USD)
    assert isinstance(answer, get_args(MoneyErrors))
    expected = "VALIDATION_ERROR" if cls.kind is RefusalKind.INVALID else cls.kind.value
    assert answer.code.value == expected
    assert answer.message
    if cls.kind is not RefusalKind.INSUFFICIENT_FUNDS:  # says the amount in its currency
        assert answer.message == exc.message
    if isinstance(answer, ValidationError):
        assert [(e.field, e.code) for e in answer.field_errors] == [(exc.field, exc.code)]


@pytest.mark.parametrize("cls", _all_refusals(), ids=lambda c: c.__qualname__)
def test_a_kind_that_carries_data_is_raised_only_with_that_data(cls: type[Refusal]) -> None:
    base = PAYLOAD_BASES.get(cls.kind)
    assert base is None or issubclass(cls, base)


def test_every_kind_has_a_member() -> None:
    assert set(_MEMBERS) == set(RefusalKind)


def test_anything_but_a_refusal_is_not_turned_into_an_answer() -> None:
    with pytest.raises(KeyError):
        refusal(KeyError("a bug"), Currency.USD)


def test_a_new_refusal_needs_no_registration() -> None:
    class GoneFishing(Refusal):
        field = "when"
        code = "CLOSED"

    answer = refusal(GoneFishing("We are closed on Sundays"), Currency.USD)
    assert isinstance(answer, ValidationError)
    assert [(e.field, e.code, e.message) for e in answer.field_errors] == [
        ("when", "CLOSED", "We are closed on Sundays")
    ]


def test_the_answers_clients_rely_on_are_unchanged() -> None:
    short = refusal(InsufficientFunds(1, 150, 2000), Currency.USD)
    assert (short.code, short.available, short.message) == (
        ErrorCode.INSUFFICIENT_FUNDS,
        "1.50",
        "You don't have enough money for this: $1.50 available",
    )
    over = refusal(
        LimitExceeded(LimitKind.DAILY, Money(100_000, Currency.USD), Money(2_500, Currency.USD)),
        Currency.USD,
    )
    assert (over.limit, over.scope, over.maximum, over.remaining, over.message) == (
        "DAILY",
        "SEND",
        "1000.00",
        "25.00",
        "This is over your daily limit for sending: $25.00 left of $1,000.00",
    )
    locked = refusal(PinLocked(datetime.now(UTC) + timedelta(minutes=15)), Currency.USD)
    assert isinstance(locked, RateLimited) and 890 < locked.retry_after_seconds <= 900
    for exc, field, code in (
        (WrongPin(2), "pin", "WRONG_PIN"),
        (RequestNotOpen(5, "paid"), "requestId", "PAID"),
        # UnknownCurrency keeps the currency's code apart from the refusal's code.
        (UnknownCurrency("XYZ"), "currency", "INVALID"),
    ):
        answer = refusal(exc, Currency.USD)
        assert isinstance(answer, ValidationError)
        assert [(e.field, e.code) for e in answer.field_errors] == [(field, code)]


def test_mutation_unions_name_only_errors_that_refusals_or_sign_in_produce() -> None:
    schema = build_schema()._schema
    user_errors = {t.name for t in schema.get_possible_types(schema.get_type("UserError"))}
    from_refusals = {
        type(_MEMBERS[kind](_build(_example(kind)), Currency.USD)).__name__ for kind in RefusalKind
    }
    assert from_refusals <= user_errors
    for name, field in schema.mutation_type.fields.items():
        result = field.type
        while hasattr(result, "of_type"):
            result = result.of_type
        if not isinstance(result, GraphQLUnionType):
            continue  # a few answer with a plain value (revokeSession: Boolean)
        errors = {t.name for t in result.types} & user_errors
        assert errors, f"{name} has no typed errors"
        unknown = errors - from_refusals - NOT_REFUSALS - KNOWN_OTHERS
        assert not unknown, f"{name} lists errors no refusal produces: {sorted(unknown)}"


def _example(kind: RefusalKind) -> type[Refusal]:
    return next(c for c in RAISED if c.kind is kind)
