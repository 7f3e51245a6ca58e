"""Input bounds, on a small schema of their own: every String/ID and list argument or
input field, at any depth, inline or in variables, is checked before the resolver."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated, Any

import pytest
import strawberry

from wallet.api.graphql.bounds import (
    DEFAULT_MAX_ITEMS,
    DEFAULT_MAX_LENGTH,
    MAX_ITEMS,
    MAX_LENGTHS,
    install,
)
from wallet.api.graphql.errors import ValidationError
from wallet.api.graphql.schema import build_schema

CALLS: list[str] = []


@strawberry.input
class Item:
    member: str
    children: list[Item] = strawberry.field(default_factory=list)  # recursive


@strawberry.input
class ThingInput:
    note: str
    items: list[Item] = strawberry.field(default_factory=list)


@strawberry.type
class Done:
    ok: bool


ThingResult = Annotated[Done | ValidationError, strawberry.union("ThingResult")]


@strawberry.type
class Query:
    @strawberry.field
    def echo(self, text: str, tag: strawberry.ID | None = None) -> str:
        CALLS.append("echo")
        return text


@strawberry.type
class Mutation:
    @strawberry.mutation
    def thing(self, input: ThingInput) -> ThingResult:
        CALLS.append("thing")
        return Done(ok=True)


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def watch(self, topic: str) -> AsyncGenerator[str, None]:
        CALLS.append("watch")
        yield topic


SCHEMA = strawberry.Schema(query=Query, mutation=Mutation, subscription=Subscription)
install(SCHEMA._schema)
THING = """mutation($input: ThingInput!) { thing(input: $input) { __typename
  ... on ValidationError { fieldErrors { field code maximum } } } }"""


async def run(query: str, variables: dict[str, Any] | None = None) -> Any:
    CALLS.clear()
    return await SCHEMA.execute(query, variable_values=variables)


async def test_text_at_the_bound_passes_and_one_more_character_is_refused() -> None:
    at_bound = "x" * DEFAULT_MAX_LENGTH
    ok = await run("query($t: String!) { echo(text: $t) }", {"t": at_bound})
    assert (ok.data, ok.errors, CALLS) == ({"echo": at_bound}, None, ["echo"])

    for query, variables in (
        ("query($t: String!) { echo(text: $t) }", {"t": at_bound + "x"}),
        (f'{{ echo(text: "{at_bound}x") }}', None),  # inline
    ):
        refused = await run(query, variables)
        assert refused.data is None and CALLS == []
        (error,) = refused.errors
        assert error.extensions == {"code": "TOO_LONG", "field": "text", "maximum": 200}
        assert error.message == "text is too long: at most 200 characters"


async def test_an_id_is_bounded_too() -> None:
    refused = await run('query($g: ID) { echo(text: "a", tag: $g) }', {"g": "9" * 201})
    assert refused.errors[0].extensions["field"] == "tag" and CALLS == []


async def test_a_deep_input_field_gets_a_typed_refusal_with_its_path() -> None:
    deep = {
        "note": "fine",
        "items": [{"member": "a"}, {"member": "b", "children": [{"member": "y" * 201}]}],
    }
    refused = await run(THING, {"input": deep})
    assert refused.errors is None and CALLS == []
    assert refused.data["thing"] == {
        "__typename": "ValidationError",
        "fieldErrors": [{"field": "items.1.children.0.member", "code": "TOO_LONG", "maximum": 200}],
    }
    inline = (
        'mutation { thing(input: {note: "%s"}) { __typename '
        "... on ValidationError { fieldErrors { field code maximum } } } }" % ("n" * 201)
    )
    assert (await run(inline)).data["thing"]["fieldErrors"] == [
        {"field": "note", "code": "TOO_LONG", "maximum": 200}
    ]
    accepted = await run(THING, {"input": {"note": "n" * 200, "items": [{"member": "m"}]}})
    assert accepted.data == {"thing": {"__typename": "Done"}} and CALLS == ["thing"]


async def test_a_list_has_a_bound_on_its_items() -> None:
    many = {"note": "n", "items": [{"member": "m"}] * (DEFAULT_MAX_ITEMS + 1)}
    refused = await run(THING, {"input": many})
    assert refused.data["thing"]["fieldErrors"] == [
        {"field": "items", "code": "TOO_MANY", "maximum": DEFAULT_MAX_ITEMS}
    ]
    assert CALLS == []


async def test_a_subscription_is_refused_before_it_starts() -> None:
    CALLS.clear()
    stream = await SCHEMA.subscribe(
        "subscription($t: String!) { watch(topic: $t) }", variable_values={"t": "t" * 201}
    )
    results = [result async for result in stream]  # type: ignore[union-attr]
    assert CALLS == [] and [r.data for r in results] == [None]
    (error,) = results[0].errors
    assert error.extensions == {"code": "TOO_LONG", "field": "topic", "maximum": 200}


@pytest.mark.parametrize("bounds", [MAX_LENGTHS, MAX_ITEMS], ids=["lengths", "items"])
def test_every_declared_bound_names_an_input_of_the_real_schema(bounds: dict[str, int]) -> None:
    schema = build_schema()._schema
    known: set[str] = set()
    for type_ in schema.type_map.values():
        for name, field in getattr(type_, "fields", {}).items():
            known.add(f"{type_.name}.{name}")
            known |= {f"{type_.name}.{name}({arg}:)" for arg in getattr(field, "args", {})}
    assert set(bounds) - known == set()


@pytest.mark.parametrize(
    ("operation", "field"),
    [
        ("{ ledgerAccounts(search: $v) { id } }", "search"),
        ("{ journalEntries(reference: $v) { id } }", "reference"),
        ("{ journalEntries(kind: $v) { id } }", "kind"),
        ("{ journalEntries(accountId: $v) { id } }", "accountId"),
        ("{ journalEntry(id: $v) { id } }", "id"),
    ],
)
async def test_the_operator_consoles_text_arguments_are_bounded(operation: str, field: str) -> None:
    """The ledger explorer's searches are refused past the default bound, before any
    resolver (or the operator check) runs."""
    schema = build_schema()
    text = operation.replace("$v", '"%s"' % ("x" * (DEFAULT_MAX_LENGTH + 1)))
    refused = await schema.execute(text)
    (error,) = refused.errors or []
    assert error.extensions == {"code": "TOO_LONG", "field": field, "maximum": DEFAULT_MAX_LENGTH}
