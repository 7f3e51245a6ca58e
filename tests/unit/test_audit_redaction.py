"""The audit log's allow-list holds only names that are safe to keep forever, and every
other argument of every mutation (including ones added later) is redacted."""

import json

from graphql import GraphQLInputObjectType, GraphQLNamedType, get_named_type
from wallet.api.graphql.schema import build_schema
from wallet.security.audit_redaction import REDACTED, SAFE_ARGUMENTS, SERVER_KEYS, redact

# A name containing any of these may carry a secret or personal data (or free text that
# can hold either), so it must never be on the allow-list.
SENSITIVE_PARTS = (
    "number",
    "account",
    "holder",
    "name",
    "address",
    "email",
    "phone",
    "password",
    "pin",
    "code",
    "token",
    "secret",
    "note",
    "cvc",
    "iban",
    "routing",
    "birth",
    "legal",
    "city",
    "country",
    "contact",
    "login",
    "recipient",
    "payer",
    "member",
    "paid",
    "among",
    "ticket",
    "credential",
    "response",
    "url",
    "reason",
    "narrative",
    "description",
    "label",
    "content",
    "file",
    "selfie",
    "value",
    "params",
    "pattern",
    "order",
)
# Whole names too generic for a part, but whose values are contacts (the blocklist's).
SENSITIVE_NAMES = ("target",)


def mutation_argument_names() -> set[str]:
    """Every argument of every mutation and every field of the inputs they take."""
    schema = build_schema(production=False)._schema
    assert schema.mutation_type is not None
    names: set[str] = set()
    seen: set[str] = set()

    def walk(named: GraphQLNamedType) -> None:
        if isinstance(named, GraphQLInputObjectType) and named.name not in seen:
            seen.add(named.name)
            for name, field in named.fields.items():
                names.add(name)
                walk(get_named_type(field.type))

    for field in schema.mutation_type.fields.values():
        for name, argument in field.args.items():
            names.add(name)
            walk(get_named_type(argument.type))
    return names


def test_no_name_on_the_allow_list_is_sensitive() -> None:
    flagged = {
        name
        for name in SAFE_ARGUMENTS | SERVER_KEYS
        for part in SENSITIVE_PARTS
        if part in name.lower()
    }
    assert flagged | (set(SENSITIVE_NAMES) & (SAFE_ARGUMENTS | SERVER_KEYS)) == set()


def test_every_allowed_argument_exists_and_the_sensitive_ones_are_redacted() -> None:
    names = mutation_argument_names()
    assert SAFE_ARGUMENTS - names == set(), "stale names on the allow-list"
    # The reviewer's fields (card and bank details may leave the API for tokens), and the
    # other obvious ones, are redacted.
    for sensitive in (
        "number",
        "cvc",
        "accountNumber",
        "routingNumber",
        "holderName",
        "password",
        "pin",
        "legalName",
        "dateOfBirth",
        "documentNumber",
        "email",
        "phone",
        "note",
    ):
        assert redact({"input": {sensitive: "x"}}) == {"input": {sensitive: REDACTED}}
    # Anything not decided yet is redacted: a field the API gains tomorrow.
    assert redact({"input": {"taxIdentifier": "123-45-6789"}}) == {
        "input": {"taxIdentifier": REDACTED}
    }


def test_redaction_walks_objects_and_lists_and_keeps_only_safe_leaves() -> None:
    details = {
        "arguments": {
            "input": {
                "amount": "5.00",
                "currency": "USD",
                "idempotencyKey": "k",
                "members": ["@ann", "@bob"],
                "currencies": ["USD", "EUR"],
                "values": [{"member": "@ann", "amount": "1.00"}],
                "fixed": {"amount": "0.30", "currency": "USD"},
                "roundUp": True,
                "targetDate": None,
            },
            "pin": "1234",
        }
    }
    assert json.loads(json.dumps(redact(details))) == {
        "arguments": {
            "input": {
                "amount": "5.00",
                "currency": "USD",
                "idempotencyKey": "k",
                "members": [REDACTED, REDACTED],
                "currencies": ["USD", "EUR"],
                "values": [{"member": REDACTED, "amount": "1.00"}],
                "fixed": {"amount": "0.30", "currency": "USD"},
                "roundUp": True,
                "targetDate": None,
            },
            "pin": REDACTED,
        }
    }


def test_a_card_number_under_a_safe_name_is_still_redacted() -> None:
    assert redact({"idempotencyKey": "4242 4242 4242 4242"}) == {"idempotencyKey": REDACTED}
    assert redact({"id": "000123456789"}) == {"id": REDACTED}
    assert redact({"amount": "1234567.89", "id": "42"}) == {"amount": "1234567.89", "id": "42"}


def test_a_kept_value_is_cut_so_the_log_stays_bounded() -> None:
    from wallet.security.audit_redaction import MAX_KEPT_CHARS, redact

    huge = "k" * 2_000_000  # e.g. an inline idempotency key the input bounds refused
    kept = redact({"idempotencyKey": huge})["idempotencyKey"]
    assert len(kept) < MAX_KEPT_CHARS + 10 and kept.startswith("k" * MAX_KEPT_CHARS)
