"""Every table of the migrated schema has a declared place on Citus, and what today's
schema does not meet of Citus's rules is exactly the declared list of known exceptions
(deploy/citus/distribution.toml; docs/scaling.md explains the plan).

A new table fails until it is declared; a new primary key, unique key or foreign key that
Citus would refuse fails until it is fixed or declared with the migration it needs; a
migration that removes an exception fails until the exception leaves the list."""

from __future__ import annotations

import asyncpg
import pytest

from tests.citus_plan import (
    DOC_PATH,
    Catalog,
    Declared,
    ForeignKey,
    Group,
    Key,
    Migration,
    Plan,
    check,
    generated_part,
    load_plan,
    read_catalog,
    render,
)


def test_the_declaration_is_consistent() -> None:
    assert load_plan().problems() == []


def test_the_doc_shows_the_declaration() -> None:
    """docs/scaling.md's table of tables and exceptions is the declaration's, rendered
    (`python -m tests.citus_plan --write` brings it up to date)."""
    assert generated_part(DOC_PATH.read_text()) == render(load_plan())


async def test_every_table_is_declared_and_every_breach_is_known(
    owner_database_url: str,
) -> None:
    plan = load_plan()
    conn = await asyncpg.connect(owner_database_url)
    try:
        findings = check(plan, await read_catalog(conn))
    finally:
        await conn.close()
    assert not findings.undeclared, (
        f"tables with no place in deploy/citus/distribution.toml: {findings.undeclared}"
    )
    assert not findings.stale, f"declared tables the schema no longer has: {findings.stale}"
    known = plan.known()
    new = {name: why for name, why in findings.breaches.items() if name not in known}
    fixed = sorted(name for name in known if name not in findings.breaches)
    assert not new, "Citus would refuse these; fix them or declare them with a migration:\n" + (
        "\n".join(f"  {name}: {why}" for name, why in new.items())
    )
    assert not fixed, f"no longer breached: remove from the known exceptions: {fixed}"


# --- the rules themselves, on a small made-up schema ---------------------------------


def _plan() -> Plan:
    owner = Group("owner", "bigint", 32, "a user's id")
    other = Group("other", "bigint", 32, "a group's id")
    tables = {
        "app_user": Declared("app_user", "distributed", "id", "owner"),
        "wallet": Declared("wallet", "distributed", "user_id", "owner"),
        "squad": Declared("squad", "distributed", "id", "other"),
        "rule": Declared("rule", "reference"),
        "run": Declared("run", "local", note="one writer"),
    }
    return Plan({"owner": owner, "other": other}, tables, ())


def _catalog(**changes: object) -> Catalog:
    catalog = Catalog(
        columns={
            "app_user": {"id": ("bigint", False)},
            "wallet": {"id": ("bigint", False), "user_id": ("bigint", False)},
            "squad": {"id": ("bigint", False), "leader": ("bigint", False)},
            "rule": {"code": ("text", False)},
            "run": {"id": ("bigint", False), "user_id": ("bigint", True)},
        },
        keys=[
            Key("app_user", "app_user_pkey", "primary key", ("id",)),
            Key("wallet", "wallet_pkey", "primary key", ("user_id", "id")),
            Key("rule", "rule_pkey", "primary key", ("code",)),
        ],
        foreign_keys=[
            ForeignKey("wallet", "wallet_user_fkey", ("user_id",), "app_user", ("id",)),
            ForeignKey("wallet", "wallet_rule_fkey", ("id",), "rule", ("code",)),
        ],
    )
    for name, value in changes.items():
        setattr(catalog, name, value)
    return catalog


def test_a_schema_that_meets_the_rules_has_no_breach() -> None:
    findings = check(_plan(), _catalog())
    assert findings.breaches == {}
    assert findings.undeclared == ()
    assert findings.stale == ()


@pytest.mark.parametrize(
    ("change", "breach"),
    [
        # the distribution column: missing, nullable, of another type
        ({"wallet": {"id": ("bigint", False)}}, "wallet.user_id"),
        ({"wallet": {"id": ("bigint", False), "user_id": ("bigint", True)}}, "wallet.user_id"),
        ({"wallet": {"id": ("bigint", False), "user_id": ("integer", False)}}, "wallet.user_id"),
    ],
)
def test_the_distribution_column_must_be_there(
    change: dict[str, dict[str, tuple[str, bool]]], breach: str
) -> None:
    catalog = _catalog()
    catalog.columns.update(change)
    assert list(check(_plan(), catalog).breaches) == [breach]


@pytest.mark.parametrize(
    "key",
    [
        Key("wallet", "wallet_pkey", "primary key", ("id",)),
        Key("wallet", "wallet_code_key", "unique", ("id", None)),  # an expression: no
        Key("app_user", "app_user_email_key", "unique", (None,)),
        Key("wallet", "wallet_no_overlap", "exclusion", ("id",)),
    ],
)
def test_keys_of_a_distributed_table_include_its_column(key: Key) -> None:
    keys = [k for k in _catalog().keys if k.name != key.name] + [key]
    breaches = check(_plan(), _catalog(keys=keys)).breaches
    assert list(breaches) == [f"{key.table}.{key.name}"]


def test_keys_of_reference_and_local_tables_are_free() -> None:
    keys = [*_catalog().keys, Key("run", "run_pkey", "primary key", ("id",))]
    assert check(_plan(), _catalog(keys=keys)).breaches == {}


@pytest.mark.parametrize(
    ("fk", "allowed"),
    [
        # colocated, through both distribution columns
        (ForeignKey("wallet", "f", ("user_id",), "app_user", ("id",)), True),
        (ForeignKey("wallet", "f", ("id", "user_id"), "wallet", ("id", "user_id")), True),
        # colocated, but not through the distribution columns: another user's row
        (ForeignKey("wallet", "f", ("id",), "app_user", ("id",)), False),
        (ForeignKey("wallet", "f", ("user_id",), "wallet", ("id",)), False),
        # another colocation group
        (ForeignKey("squad", "f", ("leader",), "app_user", ("id",)), False),
        # distributed -> reference: fine; -> local: no
        (ForeignKey("wallet", "f", ("id",), "rule", ("code",)), True),
        (ForeignKey("wallet", "f", ("id",), "run", ("id",)), False),
        # reference or local -> distributed: no; local -> reference, reference -> local: fine
        (ForeignKey("rule", "f", ("code",), "app_user", ("id",)), False),
        (ForeignKey("run", "f", ("user_id",), "app_user", ("id",)), False),
        (ForeignKey("run", "f", ("id",), "rule", ("code",)), True),
        (ForeignKey("rule", "f", ("code",), "run", ("id",)), True),
    ],
)
def test_foreign_keys(fk: ForeignKey, allowed: bool) -> None:
    breaches = check(_plan(), _catalog(foreign_keys=[fk])).breaches
    assert (breaches == {}) is allowed, breaches


def test_an_undeclared_table_and_a_stale_declaration_are_found() -> None:
    catalog = _catalog()
    catalog.columns["ledger_new"] = {"id": ("bigint", False)}
    del catalog.columns["run"]
    catalog.columns["migration"] = {"id": ("integer", False)}  # Piccolo's: never declared
    findings = check(_plan(), catalog)
    assert findings.undeclared == ("ledger_new",)
    assert findings.stale == ("run",)


def test_a_declaration_with_holes_is_refused() -> None:
    plan = _plan()
    plan.tables["odd"] = Declared("odd", "distributed", "id", "nowhere")
    plan.tables["quiet"] = Declared("quiet", "local")
    twice = Migration("C9", "t", "c", "w", ("wallet.wallet_pkey",))
    bad = Plan(plan.groups, plan.tables, (twice, twice, Migration("C0", "", "", "", ("x.y",))))
    problems = bad.problems()
    assert any(p.startswith("odd:") for p in problems)
    assert any(p.startswith("quiet:") for p in problems)
    assert any("listed by both" in p for p in problems)
    assert any(p.startswith("C0:") for p in problems)
    assert any(p.startswith("x.y:") for p in problems)
