"""Every mutation answers a client that sends only its required arguments with a result or
a typed refusal, never "Unexpected error." (issue 18, item 13: `categorizeTransaction`
without its optional `category` crashed, because the resolver gave it no default).

The calls are built from the schema itself: each required argument and required input
field gets a minimal valid value of its type (ids name nothing that exists), optional
ones are left out. They run as an anonymous client, as a customer and as an admin
operator. Typed errors and NOT_AUTHENTICATED are fine; a masked server error is not.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLUnionType,
    Undefined,
    get_named_type,
)
from tests.conftest import LiveServer
from tests.factories import make_user
from tests.graphql_client import call, gql, send, token_for
from wallet.api.graphql.schema import build_schema
from wallet.db.engine import connection

SCHEMA = build_schema()._schema
MASKED = "Unexpected error."
MISSING_ID = "987654"
SAMPLES: dict[str, Any] = {
    "String": "1",
    "ID": MISSING_ID,
    "Int": 1,
    "Float": 1.0,
    "Boolean": False,
    "Date": "2026-01-01",
    "DateTime": "2026-01-01T00:00:00+00:00",
    "JSON": {},
}
assert SCHEMA.mutation_type is not None
MUTATIONS: dict[str, GraphQLField] = dict(SCHEMA.mutation_type.fields)


def required(type_: GraphQLInputType, default: Any) -> bool:
    return isinstance(type_, GraphQLNonNull) and default is Undefined


def minimal(type_: GraphQLInputType) -> Any:
    """A minimal valid value: required input fields only, one item in a required list."""
    inner = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
    if isinstance(inner, GraphQLList):
        return [minimal(inner.of_type)]
    if isinstance(inner, GraphQLInputObjectType):
        return {
            name: minimal(field.type)
            for name, field in inner.fields.items()
            if required(field.type, field.default_value)
        }
    if isinstance(inner, GraphQLEnumType):
        return next(iter(inner.values))
    assert isinstance(inner, GraphQLScalarType), inner
    return SAMPLES[inner.name]


def selection(field: GraphQLField) -> str:
    result = get_named_type(field.type)
    if isinstance(result, GraphQLScalarType | GraphQLEnumType):
        return ""
    members = result.types if isinstance(result, GraphQLUnionType) else [result]
    assert all(isinstance(m, GraphQLObjectType | GraphQLInterfaceType) for m in members)
    errors = any("UserError" in {i.name for i in getattr(m, "interfaces", [])} for m in members)
    return "{ __typename" + (" ... on UserError { code message }" if errors else "") + " }"


def operation(name: str) -> tuple[str, dict[str, Any]]:
    field = MUTATIONS[name]
    args = {a: arg for a, arg in field.args.items() if required(arg.type, arg.default_value)}
    declared = ", ".join(f"${a}: {arg.type}" for a, arg in args.items())
    passed = ", ".join(f"{a}: ${a}" for a in args)
    head = f"mutation Minimal({declared})" if args else "mutation Minimal"
    call = f"{name}({passed})" if args else name
    return f"{head} {{ {call} {selection(field)} }}", {a: minimal(t.type) for a, t in args.items()}


def masked(body: dict[str, Any]) -> list[str]:
    """Every sign of a crash in an answer: a masked or code-less top-level error, or a
    payload whose message is the masked one."""
    found = [
        e.get("message", "")
        for e in body.get("errors") or []
        if e.get("message") == MASKED or "code" not in (e.get("extensions") or {})
    ]
    return found + [MASKED] * json.dumps(body.get("data")).count(json.dumps(MASKED))


def test_the_walk_builds_a_call_for_every_mutation() -> None:
    built = {name: operation(name) for name in MUTATIONS}
    assert len(built) > 80
    query, variables = built["categorizeTransaction"]
    assert variables == {"transactionId": MISSING_ID}
    assert "category" not in query


async def _session(live: LiveServer, role: str) -> str | None:
    if role == "anonymous":
        return None
    user = await make_user(balance="25.00")
    if role == "admin":
        async with connection() as conn:
            await conn.execute("UPDATE app_user SET operator_role = 'admin' WHERE id = $1", user.id)
    return await token_for(live, user)


@pytest.mark.parametrize("role", ["anonymous", "customer", "admin"])
async def test_every_mutation_with_only_its_required_arguments_answers_without_crashing(
    live_server: LiveServer, role: str
) -> None:
    token = await _session(live_server, role)
    crashed = {}
    async with live_server.client() as http:
        for name in sorted(MUTATIONS):
            if (
                token is not None
                and (await gql(http, "{ me { id } }", token=token))["data"]["me"] is None
            ):
                token = await _session(live_server, role)  # a mutation ended the session
            query, variables = operation(name)
            body = await gql(http, query, variables, token=token)
            if found := masked(body):
                crashed[name] = (found, body)
    assert crashed == {}


CATEGORIZE = """mutation($t: ID!, $c: SpendingCategory) {
  categorizeTransaction(transactionId: $t, category: $c) {
    __typename ... on CategorizePayload { category } ... on UserError { code message } } }"""
CATEGORIZE_WITHOUT = """mutation($t: ID!) { categorizeTransaction(transactionId: $t) {
    __typename ... on CategorizePayload { category } ... on UserError { code message } } }"""


async def test_categorize_transaction_without_a_category_goes_back_to_the_rules(
    live_server: LiveServer,
) -> None:
    sender = await make_user(balance="25.00")
    friend = await make_user()
    token = await token_for(live_server, sender)
    sent = await send(live_server, token, friend.username, "3.00")
    transaction_id = sent["transfer"]["id"]
    by_rules = await call(live_server, token, CATEGORIZE, {"t": transaction_id, "c": None})
    own = "TRAVEL" if by_rules["category"] != "TRAVEL" else "FOOD"
    chosen = await call(live_server, token, CATEGORIZE, {"t": transaction_id, "c": own})
    assert chosen == {"__typename": "CategorizePayload", "category": own}

    back = await call(live_server, token, CATEGORIZE_WITHOUT, {"t": transaction_id})
    assert back == by_rules
    async with connection() as conn:
        assert await conn.fetchval("SELECT count(*) FROM transaction_category") == 0
