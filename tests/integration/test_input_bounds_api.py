"""Every text and list input of the API has a bound, checked before any resolver runs.

The walk builds, from the schema itself, one operation per String/ID input (argument or
input field, at any depth) of every query and mutation, with that input one character
over its bound, and one per list input with one item too many; each is sent with the
value in variables and written inline. Each must be refused with the typed answer (or a
top-level error carrying the same code), and nothing may be written anywhere.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    GraphQLUnionType,
    Undefined,
    get_named_type,
    is_composite_type,
)
from tests.conftest import LiveServer
from tests.factories import make_user
from tests.graphql_client import call, gql, token_for
from tests.merchant_helpers import ONBOARD, shop
from wallet.api.graphql.bounds import DEFAULT_MAX_ITEMS, DEFAULT_MAX_LENGTH, MAX_ITEMS, MAX_LENGTHS
from wallet.api.graphql.schema import build_schema
from wallet.db.engine import connection

SCHEMA = build_schema()._schema
SAMPLE_SCALARS: dict[str, Any] = {
    "String": "1",
    "ID": "1",
    "Int": 1,
    "Float": 1.0,
    "Boolean": False,
    "Date": "2026-01-01",
    "DateTime": "2026-01-01T00:00:00+00:00",
    "JSON": {},
}


class EnumValue(str):
    """An enum value: a bare name when written inline."""


@dataclass(frozen=True)
class Target:
    operation: str  # "query" or "mutation"
    field: str
    path: tuple[str | int, ...]  # from the argument's name down to the bounded input
    code: str  # TOO_LONG or TOO_MANY
    maximum: int

    @property
    def reported_path(self) -> str:
        parts = self.path[1:] if self.path[0] == "input" and len(self.path) > 1 else self.path
        return ".".join(str(p) for p in parts)


def _unwrap(type_: GraphQLInputType) -> GraphQLInputType:
    return type_.of_type if isinstance(type_, GraphQLNonNull) else type_


def _targets_in(
    type_: GraphQLInputType, coordinate: str, path: tuple[str | int, ...], seen: frozenset[str]
) -> list[tuple[tuple[str | int, ...], str, int]]:
    inner = _unwrap(type_)
    if isinstance(inner, GraphQLList):
        found = [(path, "TOO_MANY", MAX_ITEMS.get(coordinate, DEFAULT_MAX_ITEMS))]
        return found + _targets_in(inner.of_type, coordinate, (*path, 0), seen)
    if isinstance(inner, GraphQLScalarType) and inner.name in ("String", "ID"):
        return [(path, "TOO_LONG", MAX_LENGTHS.get(coordinate, DEFAULT_MAX_LENGTH))]
    if isinstance(inner, GraphQLInputObjectType) and inner.name not in seen:
        return [
            target
            for name, field in inner.fields.items()
            for target in _targets_in(
                field.type, f"{inner.name}.{name}", (*path, name), seen | {inner.name}
            )
        ]
    return []


def all_targets() -> list[Target]:
    targets = []
    for operation, root in (("query", SCHEMA.query_type), ("mutation", SCHEMA.mutation_type)):
        assert root is not None
        for name, field in root.fields.items():
            for arg_name, arg in field.args.items():
                coordinate = f"{root.name}.{name}({arg_name}:)"
                found = _targets_in(arg.type, coordinate, (arg_name,), frozenset())
                targets += [Target(operation, name, *target) for target in found]
    return targets


TARGETS = all_targets()


def _value(type_: GraphQLInputType, rest: tuple[str | int, ...] | None, target: Target) -> Any:
    """A value of `type_`: minimal and valid, or, when `rest` leads to the target, with
    the target one over its bound."""
    inner = _unwrap(type_)
    if rest == ():
        if target.code == "TOO_LONG":
            return "x" * (target.maximum + 1)
        assert isinstance(inner, GraphQLList)
        return [_value(inner.of_type, None, target)] * (target.maximum + 1)
    if isinstance(inner, GraphQLList):
        return [_value(inner.of_type, rest[1:], target)] if rest is not None else []
    if isinstance(inner, GraphQLInputObjectType):
        fields = {}
        for name, field in inner.fields.items():
            on_path = rest is not None and rest[0] == name
            required = isinstance(field.type, GraphQLNonNull) and field.default_value is Undefined
            if on_path or required:
                fields[name] = _value(field.type, rest[1:] if on_path else None, target)
        return fields
    if isinstance(inner, GraphQLEnumType):
        return EnumValue(next(iter(inner.values)))
    assert isinstance(inner, GraphQLScalarType)
    return SAMPLE_SCALARS[inner.name]


def _literal(value: Any) -> str:
    if isinstance(value, EnumValue):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_literal(v)}" for k, v in value.items()) + "}"
    return json.dumps(value)


def _typed(field: GraphQLField) -> bool:
    result = get_named_type(field.type)
    return isinstance(result, GraphQLUnionType) and any(
        t.name == "ValidationError" for t in result.types
    )


def operation(target: Target, *, inline: bool) -> tuple[str, dict[str, Any]]:
    root = SCHEMA.query_type if target.operation == "query" else SCHEMA.mutation_type
    assert root is not None
    field = root.fields[target.field]
    args: dict[str, tuple[GraphQLArgument, Any]] = {}
    for name, arg in field.args.items():
        on_path = target.path[0] == name
        if on_path or isinstance(arg.type, GraphQLNonNull):
            args[name] = (arg, _value(arg.type, target.path[1:] if on_path else None, target))
    result = get_named_type(field.type)
    selection = ""
    if is_composite_type(result):
        typed = "... on ValidationError { fieldErrors { field code maximum } }"
        selection = "{ __typename " + (typed if _typed(field) else "") + " }"
    if inline:
        call_args = ", ".join(f"{n}: {_literal(v)}" for n, (_, v) in args.items())
        return f"{target.operation} {{ {target.field}({call_args}) {selection} }}", {}
    declared = ", ".join(f"${n}: {arg.type}" for n, (arg, _) in args.items())
    call_args = ", ".join(f"{n}: ${n}" for n in args)
    text = f"{target.operation}({declared}) {{ {target.field}({call_args}) {selection} }}"
    return text, {n: v for n, (_, v) in args.items()}


async def row_counts() -> dict[str, int]:
    """Rows in every table but the audit log (which records refused attempts too)."""
    async with connection() as conn:
        tables = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename <> 'audit_log' "
            # the app's role reads its own tables, not the migrations' bookkeeping
            "AND has_table_privilege(current_user, "
            "format('%I.%I', schemaname, tablename), 'SELECT') "
            "ORDER BY tablename"
        )
        return {
            t["tablename"]: await conn.fetchval(f'SELECT count(*) FROM "{t["tablename"]}"')
            for t in tables
        }


def test_the_walk_covers_the_inputs_the_review_named() -> None:
    names = {(t.field, t.reported_path) for t in TARGETS}
    assert {("onboardMerchant", "city"), ("createMerchantApiKey", "label")} <= names
    assert len(TARGETS) > 200


@pytest.mark.parametrize("inline", [False, True], ids=["variables", "inline"])
async def test_every_text_and_list_input_over_its_bound_is_refused_before_anything_runs(
    live_server: LiveServer, inline: bool
) -> None:
    admin = await make_user(balance="10.00")
    async with connection() as conn:
        await conn.execute("UPDATE app_user SET operator_role = 'admin' WHERE id = $1", admin.id)
    token = await token_for(live_server, admin)
    before = await row_counts()
    wrong = []
    async with live_server.client() as http:
        for target in TARGETS:
            query, variables = operation(target, inline=inline)
            body = await gql(http, query, variables, token=token)
            expected_error = {
                "code": target.code,
                "field": target.reported_path,
                "maximum": target.maximum,
            }
            root = SCHEMA.query_type if target.operation == "query" else SCHEMA.mutation_type
            assert root is not None
            if _typed(root.fields[target.field]):
                ok = "errors" not in body and body["data"][target.field] == {
                    "__typename": "ValidationError",
                    "fieldErrors": [expected_error],
                }
            else:
                errors = body.get("errors") or []
                ok = [e.get("extensions") for e in errors] == [expected_error] and not (
                    body.get("data") or {}
                ).get(target.field)
            if not ok:
                wrong.append((target, body))
    assert wrong == []
    assert await row_counts() == before


async def test_a_2_mb_merchant_city_is_refused_and_not_stored(live_server: LiveServer) -> None:
    owner = await make_user()
    token = await token_for(live_server, owner)
    city = "c" * 2_000_000
    result = await call(
        live_server,
        token,
        ONBOARD,
        {
            "input": {
                "name": "Corner Coffee",
                "mcc": "5814",
                "country": "US",
                "legalName": "Corner Coffee LLC",
                "businessAddress": "1 Main St",
                "city": city,
            }
        },
    )
    assert result == {
        "__typename": "ValidationError",
        "fieldErrors": [{"field": "city", "code": "TOO_LONG"}],
    }
    async with connection() as conn:
        assert await conn.fetchval("SELECT count(*) FROM merchant") == 0
        logged = await conn.fetchval(
            "SELECT max(length(details::text)) FROM audit_log WHERE action = 'onboardMerchant'"
        )
    assert logged < 10_000  # the audit row says it was refused, without the 2 MB


async def test_a_2_mb_api_key_label_is_refused_and_not_stored(live_server: LiveServer) -> None:
    _, token, merchant_id = await shop(live_server)
    key = """mutation($m: ID!, $label: String!) {
      createMerchantApiKey(merchantId: $m, label: $label, scopes: []) {
      __typename ... on ValidationError { message fieldErrors { field code maximum } } } }"""
    result = await call(live_server, token, key, {"m": merchant_id, "label": "k" * 2_000_000})
    assert result == {
        "__typename": "ValidationError",
        "message": "label is too long: at most 200 characters",
        "fieldErrors": [{"field": "label", "code": "TOO_LONG", "maximum": 200}],
    }
    async with connection() as conn:
        assert await conn.fetchval("SELECT count(*) FROM merchant_api_key") == 0
        logged = await conn.fetchval(
            "SELECT max(length(details::text)) FROM audit_log WHERE action = 'createMerchantApiKey'"
        )
    assert logged < 10_000
