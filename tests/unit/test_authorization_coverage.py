"""Every query, mutation and subscription that takes an id has an authorization test.

The id-taking fields are read from the schema (an `ID` argument, or an `ID` inside an
input object, at any depth; and a payment request's `reference`, which is its id). Each
must be exactly one of: a row of the BOLA matrix (tests/integration/
test_authorization_matrix.py), an operator field of the role matrix (READS and WRITES
of tests/integration/test_operator_roles.py), or a NOT_OWNED entry below saying why its
id names nothing private of anyone else. A new id-taking field fails here until it is
given one."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from graphql import (
    GraphQLID,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLSchema,
    ObjectValueNode,
    OperationDefinitionNode,
    ValueNode,
    VariableNode,
    get_named_type,
    parse,
)
from tests.authorization_world import World
from tests.integration import test_operator_roles as operators
from tests.integration.test_authorization_matrix import ROWS, Row
from wallet.api.graphql.schema import build_schema

# Fields whose id does not name someone else's private object: anyone holding it may use
# it, by design. One line each: why.
NOT_OWNED = {
    "Mutation.payPaymentRequest": "paying a merchant's payable request by its reference is "
    "what the request is for",
    "Query.paymentRequest": "a payer looks up a request to pay it: merchant, amount and "
    "description, only while it can be paid (docs/security.md, Payment requests)",
    "Query.paymentBudgetImpact": "a payer previews paying a payable request (as "
    "paymentRequest) against their own budget; it says nothing of anyone else's",
    "Query.notifications": "`before` is a cursor into the viewer's own list: the query "
    "reads only the viewer's notifications, whatever id it is given",
    "Mutation.saveBiller": "a biller's id is public (the `billers` list); saving it links "
    "the caller's own account number there",
}
# String arguments that carry an id: a payment request's GraphQL id is its reference.
ID_NAMED_STRINGS = {"reference"}
MATRIX = "tests/integration/test_authorization_matrix.py"
ROLE_MATRIX = "tests/integration/test_operator_roles.py"


def _schema() -> GraphQLSchema:
    return build_schema()._schema


def _id_paths(type_: GraphQLInputType, path: str, seen: tuple[str, ...] = ()) -> list[str]:
    named = get_named_type(type_)
    if named is GraphQLID or (named.name == "String" and path.split(".")[-1] in ID_NAMED_STRINGS):
        return [path]
    found: list[str] = []
    if isinstance(named, GraphQLInputObjectType) and named.name not in seen:
        for name, input_field in named.fields.items():
            found += _id_paths(input_field.type, f"{path}.{name}", (*seen, named.name))
    return found


def id_taking_fields() -> dict[str, list[str]]:
    """`Mutation.refundPayment` -> ["input.merchantId", "input.transactionId"], for every
    root field that takes an id."""
    schema = _schema()
    found = {}
    for root in (schema.query_type, schema.mutation_type, schema.subscription_type):
        assert root is not None
        for name, root_field in root.fields.items():
            paths = [p for arg, a in root_field.args.items() for p in _id_paths(a.type, arg)]
            if paths:
                found[f"{root.name}.{name}"] = paths
    return found


def _coordinates(query: str) -> set[str]:
    """The root fields one operation document selects, as `Type.field`."""
    found = set()
    for definition in parse(query).definitions:
        assert isinstance(definition, OperationDefinitionNode)
        root = definition.operation.value.capitalize()
        found |= {f"{root}.{s.name.value}" for s in definition.selection_set.selections}  # type: ignore[attr-defined]
    return found


def operator_fields() -> set[str]:
    return {c for query in (*operators.READS, *operators.WRITES) for c in _coordinates(query)}


def _supplied(value: ValueNode, variables: dict[str, Any], path: str) -> list[str]:
    """The argument paths a value fills (a variable's value walked the same way)."""
    if isinstance(value, VariableNode):
        return _filled(variables.get(value.name.value), path)
    if isinstance(value, ObjectValueNode):
        return [
            p for f in value.fields for p in _supplied(f.value, variables, f"{path}.{f.name.value}")
        ]
    return [path]


def _filled(value: Any, path: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _filled(v, f"{path}.{k}")]
    return [path]


def supplied_paths(row: Row) -> set[str]:
    """The argument paths a matrix row fills, its variables made from a stand-in world."""
    stand_in = World(ids=defaultdict(lambda: "1"), usernames=defaultdict(lambda: "someone"))
    variables = row.variables(stand_in)
    (selection,) = row.operation.selection_set.selections
    arguments = selection.arguments  # type: ignore[attr-defined]
    return {p for a in arguments for p in _supplied(a.value, variables, a.name.value)}


def test_the_schema_walk_finds_ids_in_arguments_and_inside_inputs() -> None:
    found = id_taking_fields()
    assert found["Query.transaction"] == ["id"]
    assert found["Mutation.sendMoney"] == ["input.quoteId"]
    assert found["Mutation.refundPayment"] == ["input.merchantId", "input.transactionId"]
    assert found["Query.merchantPaymentRequest"] == ["reference"]
    assert "Mutation.signUp" not in found


def test_every_id_taking_field_has_an_authorization_test() -> None:
    ids = id_taking_fields()
    matrix = {row.coordinate for row in ROWS}
    operator_only = operator_fields() & set(ids)
    covered = matrix | operator_only | set(NOT_OWNED)
    missing = [
        f"{c} takes an id ({', '.join(ids[c])}) but has no authorization test: add a row "
        f"to {MATRIX} (its owner reaches the object, everyone else is refused), or, if "
        f"only operators may call it, add it to READS or WRITES in {ROLE_MATRIX}, or a "
        f"NOT_OWNED entry with its reason in {__name__.replace('.', '/')}.py"
        for c in sorted(set(ids) - covered)
    ]
    assert missing == [], "\n".join(missing)
    stale = sorted((matrix | set(NOT_OWNED)) - set(ids))
    assert stale == [], f"listed but taking no id (renamed or removed?): {stale}"
    assert set(ids) == covered


def test_a_field_is_either_tested_or_excused_never_both() -> None:
    tested = {row.coordinate for row in ROWS} | operator_fields()
    assert sorted(tested & set(NOT_OWNED)) == []
    assert all(reason.strip() and "\n" not in reason for reason in NOT_OWNED.values())


def test_matrix_rows_aim_at_the_owned_object_through_every_id_the_field_takes() -> None:
    """A row of `refundPayment` that passed only the merchant would leave the payment's
    check untried: together, a field's rows fill each of its id arguments."""
    ids = id_taking_fields()
    filled: dict[str, set[str]] = defaultdict(set)
    for row in ROWS:
        filled[row.coordinate] |= supplied_paths(row)
    unfilled = {
        c: sorted(set(ids[c]) - paths) for c, paths in filled.items() if set(ids[c]) - paths
    }
    assert unfilled == {}
