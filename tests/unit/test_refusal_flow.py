"""What each mutation's code can raise, read statically (tests/refusal_flow.py), against
what the mutation declares: no refusal reaches a resolver uncaught (it would be masked
as a server error), and every refusal it can meet has a member in its result union."""

import ast

import pytest

from graphql import GraphQLUnionType
from tests.refusal_flow import Flow, load, mutations
from wallet.api.graphql.schema import build_schema
from wallet.errors import Refusal, RefusalKind
from wallet.fraud.service import PaymentBlocked
from wallet.idempotency.service import IdempotencyConflict
from wallet.ledger.errors import InsufficientFunds
from wallet.limits.service import LimitExceeded
from wallet.transfers.errors import RecipientNotFound

MODULES = load()
FLOW = Flow(MODULES)
MUTATIONS = mutations(MODULES)
SCHEMA = build_schema()._schema

# The GraphQL member each kind becomes (wallet.api.graphql.refusals).
MEMBER = {
    RefusalKind.INVALID: "ValidationError",
    RefusalKind.NOT_FOUND: "NotFound",
    RefusalKind.FORBIDDEN: "Forbidden",
    RefusalKind.INSUFFICIENT_FUNDS: "InsufficientFunds",
    RefusalKind.LIMIT_EXCEEDED: "LimitExceeded",
    RefusalKind.WALLET_UNAVAILABLE: "WalletUnavailable",
    RefusalKind.IDEMPOTENCY_CONFLICT: "IdempotencyConflict",
    RefusalKind.RATE_LIMITED: "RateLimited",
    RefusalKind.STEP_UP_REQUIRED: "StepUpRequired",
    RefusalKind.PAYMENT_BLOCKED: "PaymentBlocked",
    RefusalKind.QUOTE_EXPIRED: "QuoteExpired",
    RefusalKind.RATES_UNAVAILABLE: "RatesUnavailable",
}


def _graphql_name(python: str) -> str:
    first, *rest = python.split("_")
    return first + "".join(part.title() for part in rest)


def _met(module: str, function: str) -> frozenset[type[Refusal]]:
    """Every refusal the resolver's calls can raise, before its own handlers."""
    node = MODULES[module].functions[function]
    calls = [n for n in ast.walk(node) if isinstance(n, ast.Call)]
    return FLOW._expression(MODULES[module], ast.Tuple(elts=calls, ctx=ast.Load()))


def test_the_walk_follows_calls_into_the_domains() -> None:
    send = FLOW.raises_of("wallet.transfers.service", "send_money")
    for expected in (
        InsufficientFunds,
        LimitExceeded,
        IdempotencyConflict,
        RecipientNotFound,
        PaymentBlocked,
    ):
        assert expected in send
    assert len(MUTATIONS) == len(SCHEMA.mutation_type.fields)


@pytest.mark.parametrize("where", MUTATIONS, ids=lambda m: m[2])
def test_no_refusal_reaches_a_mutation_uncaught(where: tuple[str, str, str]) -> None:
    module, function, _ = where
    escaping = sorted(c.__qualname__ for c in FLOW.raises_of(module, function))
    assert escaping == [], "these would be masked as server errors"


@pytest.mark.parametrize("where", MUTATIONS, ids=lambda m: m[2])
def test_the_union_lists_every_refusal_the_mutation_can_meet(where: tuple[str, str, str]) -> None:
    module, function, name = where
    result = SCHEMA.mutation_type.fields[_graphql_name(name)].type
    while hasattr(result, "of_type"):
        result = result.of_type
    met = _met(module, function)
    if not isinstance(result, GraphQLUnionType):
        assert met == frozenset()
        return
    members = {m.name for m in result.types}
    missing = sorted(
        f"{c.__qualname__} ({MEMBER[c.kind]})" for c in met if MEMBER[c.kind] not in members
    )
    assert missing == []
