"""The Piccolo tables match the migrated database: one class per table and one table per
class, with the same columns, types, nullability, defaults, primary, foreign and unique
keys. The schema is written by the SQL migrations; the classes must follow it. (A
partitioned table is one class: its partitions, and the keys PostgreSQL copies onto
them, are not tables of their own to Piccolo.)"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

import asyncpg
import pytest
from piccolo.apps.migrations.tables import Migration
from piccolo.columns import (
    JSON,
    JSONB,
    Array,
    BigInt,
    BigSerial,
    Boolean,
    Bytea,
    Char,
    Column,
    Date,
    DoublePrecision,
    ForeignKey,
    Integer,
    Numeric,
    Serial,
    SmallInt,
    Text,
    Time,
    Timestamp,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

from wallet.db.engine import DB, transaction
from wallet.db.tables import database_default, from_database, primary_key_columns
from wallet.fraud.tables import FraudRule
from wallet.piccolo_app import APP_CONFIG

# Piccolo's bookkeeping table; Piccolo creates it from its own class.
PICCOLO_OWN: tuple[type[Table], ...] = (Migration,)


@dataclass(frozen=True)
class ColumnShape:
    type: str
    nullable: bool
    has_default: bool
    # A JSON column's default, as JSON text (Piccolo cannot send DEFAULT for one).
    json_default: Any = None


@dataclass(frozen=True)
class TableShape:
    columns: dict[str, ColumnShape]
    primary_key: tuple[str, ...]
    foreign_keys: frozenset[tuple[tuple[str, ...], str, tuple[str, ...]]]
    unique: frozenset[str]  # single-column UNIQUE constraints


SIMPLE_TYPES: dict[type[Column], str] = {
    BigInt: "bigint",
    BigSerial: "bigint",
    Integer: "integer",
    Serial: "integer",
    SmallInt: "smallint",
    Text: "text",
    Timestamptz: "timestamp with time zone",
    Timestamp: "timestamp without time zone",
    Date: "date",
    Time: "time without time zone",
    Boolean: "boolean",
    JSONB: "jsonb",
    Bytea: "bytea",
    DoublePrecision: "double precision",
}


def sql_type(column: Column) -> str:
    """The column's type as PostgreSQL's `format_type` writes it."""
    kind = type(column)
    if isinstance(column, ForeignKey):
        return sql_type(column._foreign_key_meta.resolved_target_column)
    if kind in SIMPLE_TYPES:
        return SIMPLE_TYPES[kind]
    if kind is Char:
        return f"character({column.length})"  # type: ignore[attr-defined]
    if kind is Varchar:
        return f"character varying({column.length})"  # type: ignore[attr-defined]
    if kind is Numeric:
        digits = column.digits  # type: ignore[attr-defined]
        return "numeric" if digits is None else f"numeric({digits[0]},{digits[1]})"
    if kind is Array:
        return sql_type(column.base_column) + "[]"  # type: ignore[attr-defined]
    raise AssertionError(f"no SQL type known for {kind.__name__}")


def shape_of_class(table: type[Table]) -> TableShape:
    columns: dict[str, ColumnShape] = {}
    foreign_keys: set[tuple[tuple[str, ...], str, tuple[str, ...]]] = set()
    for column in table._meta.columns:
        name = column._meta.db_column_name
        has_default = isinstance(column, Serial) or column.default is database_default
        json_default = None
        if table in PICCOLO_OWN or isinstance(column, JSON):
            has_default = column.default is not None
        if isinstance(column, JSON) and column.default is not None:
            json_default = json.loads(column.default)
        columns[name] = ColumnShape(sql_type(column), column._meta.null, has_default, json_default)
        if isinstance(column, ForeignKey):
            target = column._foreign_key_meta.resolved_target_column
            foreign_keys.add(
                ((name,), target._meta.table._meta.tablename, (target._meta.db_column_name,))
            )
    declared: Iterable[tuple[tuple[str, ...], str, tuple[str, ...]]] = getattr(
        table, "composite_foreign_keys", ()
    )
    foreign_keys.update(declared)
    unique = frozenset(c._meta.db_column_name for c in table._meta.columns if c._meta.unique)
    return TableShape(columns, primary_key_columns(table), frozenset(foreign_keys), unique)


async def shapes_in_database(conn: asyncpg.Connection) -> dict[str, TableShape]:
    """Every table's and view's shape, by name."""
    rows = await conn.fetch(
        """SELECT c.relname AS table, a.attname AS column,
                  format_type(a.atttypid, a.atttypmod) AS type,
                  NOT a.attnotnull AS nullable, a.atthasdef AS has_default,
                  CASE WHEN a.atttypid = 'jsonb'::regtype
                       THEN pg_get_expr(d.adbin, d.adrelid) END AS json_default
             FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
             LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
            WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v')
              AND NOT c.relispartition AND a.attnum > 0 AND NOT a.attisdropped
            ORDER BY c.relname, a.attnum"""
    )
    constraints = await conn.fetch(
        """SELECT conrelid::regclass::text AS table, contype::text AS kind,
                  confrelid::regclass::text AS target,
                  ARRAY(SELECT attname FROM unnest(conkey) WITH ORDINALITY k(n, o)
                          JOIN pg_attribute ON attrelid = conrelid AND attnum = n
                         ORDER BY o)::text[] AS columns,
                  ARRAY(SELECT attname FROM unnest(confkey) WITH ORDINALITY k(n, o)
                          JOIN pg_attribute ON attrelid = confrelid AND attnum = n
                         ORDER BY o)::text[] AS target_columns
             FROM pg_constraint
            WHERE connamespace = 'public'::regnamespace AND contype IN ('p', 'f', 'u')
              AND conparentid = 0"""
    )
    columns: dict[str, dict[str, ColumnShape]] = {}
    for r in rows:
        json_default = None
        if r["json_default"] is not None:  # evaluate the migration's expression
            json_default = json.loads(await conn.fetchval(f"SELECT ({r['json_default']})::text"))
        columns.setdefault(r["table"], {})[r["column"]] = ColumnShape(
            r["type"], r["nullable"], r["has_default"], json_default
        )
    primary: dict[str, tuple[str, ...]] = {}
    foreign: dict[str, set[tuple[tuple[str, ...], str, tuple[str, ...]]]] = {}
    unique: dict[str, set[str]] = {}
    for c in constraints:
        if c["kind"] == "p":
            primary[c["table"]] = tuple(c["columns"])
        elif c["kind"] == "f":
            foreign.setdefault(c["table"], set()).add(
                (tuple(c["columns"]), c["target"], tuple(c["target_columns"]))
            )
        elif len(c["columns"]) == 1:
            unique.setdefault(c["table"], set()).add(c["columns"][0])
    return {
        table: TableShape(
            cols,
            primary.get(table, ()),
            frozenset(foreign.get(table, set())),
            frozenset(unique.get(table, set())),
        )
        for table, cols in columns.items()
    }


def differences(expected: TableShape, actual: TableShape) -> list[str]:
    """What `actual` (the class) says that `expected` (the database) does not."""
    found = []
    for name in expected.columns.keys() - actual.columns.keys():
        found.append(f"column {name} has no Piccolo column")
    for name in actual.columns.keys() - expected.columns.keys():
        found.append(f"column {name} is not in the database")
    for name in expected.columns.keys() & actual.columns.keys():
        if expected.columns[name] != actual.columns[name]:
            found.append(f"column {name}: {actual.columns[name]} != {expected.columns[name]}")
    if expected.primary_key != actual.primary_key:
        found.append(f"primary key {actual.primary_key} != {expected.primary_key}")
    if expected.foreign_keys != actual.foreign_keys:
        found.append(
            f"foreign keys missing {sorted(expected.foreign_keys - actual.foreign_keys)}, "
            f"extra {sorted(actual.foreign_keys - expected.foreign_keys)}"
        )
    if expected.unique != actual.unique:
        found.append(f"unique {sorted(actual.unique)} != {sorted(expected.unique)}")
    return found


def all_classes() -> list[type[Table]]:
    return [*APP_CONFIG.table_classes, *PICCOLO_OWN]


async def test_every_table_has_one_piccolo_class_and_every_class_a_table(
    database_url: str,
) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        in_database = await shapes_in_database(conn)
        tables = {
            r["relname"]
            for r in await conn.fetch(
                "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace "
                "AND relkind IN ('r', 'p') AND NOT relispartition"
            )
        }
    finally:
        await conn.close()
    names = [table._meta.tablename for table in all_classes()]
    assert len(names) == len(set(names)), "two classes for one table"
    assert tables - set(names) == set(), "tables without a Piccolo class"
    # A class may also read a view (wallet.ledger.tables.LedgerBalance).
    assert set(names) - set(in_database) == set(), "classes without a table or view"


async def test_every_piccolo_class_matches_its_table(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        in_database = await shapes_in_database(conn)
    finally:
        await conn.close()
    drift = {
        table._meta.tablename: found
        for table in all_classes()
        if (found := differences(in_database[table._meta.tablename], shape_of_class(table)))
    }
    assert drift == {}


async def test_the_comparison_catches_drift(database_url: str) -> None:
    """A class that disagrees with its table in each way the test checks is reported."""

    class Drifted(Table, tablename="fraud_rule", db=DB):
        code = Text(primary_key=True, default=None)
        kind = Varchar(length=20, default=None)  # text in the database
        params = JSONB(default='{"a": 1}')  # the database's default is {}
        score = Integer(null=True, default=None)  # NOT NULL in the database
        enabled = from_database(Boolean(unique=True))  # not unique
        extra = Text(default=None)  # no such column; description is missing

    conn = await asyncpg.connect(database_url)
    try:
        expected = (await shapes_in_database(conn))["fraud_rule"]
    finally:
        await conn.close()
    found = "\n".join(differences(expected, shape_of_class(Drifted)))
    for part in ("column description", "column extra", "column kind", "column params"):
        assert part in found
    assert "column score" in found
    assert "unique" in found

    class Composite(Table, tablename="fraud_rule", db=DB):
        primary_key_columns: ClassVar[tuple[str, ...]] = ("code", "kind")
        code = Text(primary_key=True, default=None)

    assert "primary key" in "\n".join(differences(expected, shape_of_class(Composite)))


async def test_piccolo_insert_leaves_database_defaults_to_the_database(
    database_url: str,
) -> None:
    async with transaction():
        await FraudRule.insert(
            FraudRule(code="test_rule", kind="velocity_count", score=5, description="d")
        )
        row = await FraudRule.select().where(FraudRule.code == "test_rule").first()
    assert row is not None
    # The migration's defaults, not Piccolo's own (False for a Boolean).
    assert row["enabled"] is True
    assert json.loads(row["params"]) == {}


async def test_piccolo_insert_missing_a_required_column_fails(database_url: str) -> None:
    """Not Piccolo's "" for a forgotten NOT NULL column (its default for Text)."""
    with pytest.raises(ValueError, match="description wasn't provided"):
        FraudRule(code="no_description", kind="blocklist", score=1)


def test_composite_keys_are_declared_on_their_first_column() -> None:
    """Piccolo's single key column is the first of a composite key, so `where` on it
    alone never looks like a row address by accident in code review."""
    for table in APP_CONFIG.table_classes:
        keys = primary_key_columns(table) or (table._meta.primary_key._meta.name,)  # a view
        assert table._meta.primary_key._meta.db_column_name == keys[0], table


async def test_piccolo_queries_join_the_commands_transaction(database_url: str) -> None:
    """A Piccolo write inside `transaction()` rolls back with the raw SQL beside it."""

    class Abort(Exception):
        pass

    with pytest.raises(Abort):
        async with transaction() as conn:
            await FraudRule.insert(
                FraudRule(code="rolled_back", kind="blocklist", score=1, description="d")
            )
            seen_raw = await conn.fetchval(
                "SELECT count(*) FROM fraud_rule WHERE code = $1", "rolled_back"
            )
            assert seen_raw == 1  # the same connection sees the uncommitted row
            raise Abort
    assert await FraudRule.count().where(FraudRule.code == "rolled_back") == 0
