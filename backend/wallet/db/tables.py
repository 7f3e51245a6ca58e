"""Generic pieces for the domains' Piccolo tables; no domain table lives here.

Each domain declares its own tables in `wallet/<domain>/tables.py` (the schema itself is
written by the raw SQL migrations); `wallet.piccolo_app` collects them. These helpers keep
the declarations faithful to the migrated schema, which
`tests/integration/test_piccolo_tables.py` checks.
"""

from __future__ import annotations

from typing import Any, TypeVar

from piccolo.columns import JSON, Column, ForeignKey, OnDelete
from piccolo.columns.reference import LazyTableReference
from piccolo.querystring import QueryString
from piccolo.table import Table

# (columns, referenced table, referenced columns) of foreign keys Piccolo cannot express
# (several columns); a table declares them as `composite_foreign_keys`.
ForeignKeys = tuple[tuple[tuple[str, ...], str, tuple[str, ...]], ...]

AnyColumn = TypeVar("AnyColumn", bound=Column)


def database_default() -> Any:
    """What Piccolo inserts for a column the row leaves unset: the keyword DEFAULT."""
    return QueryString("DEFAULT")


def database_now() -> Any:
    """A value for a timestamptz column in an insert or update: the transaction's `now()`
    (the clock the column's DEFAULT and the migrations' SQL use), not the app's."""
    return QueryString("now()")


def from_database(column: AnyColumn) -> AnyColumn:
    """`column`, whose default the database computes (`now()`, a sequence, a literal in the
    migration): an insert that leaves it unset sends DEFAULT, so the migration stays the
    one place a default is written. (Piccolo's own `default=` takes only Python values.)

    Not for JSON columns: Piccolo JSON-encodes whatever they hold, DEFAULT included. They
    repeat the migration's default as a Python value, and the schema test compares the two.

    Every other column is declared with `default=None`, so an insert that forgets a
    NOT NULL column fails loudly instead of storing Piccolo's "" or 0.
    """
    if isinstance(column, JSON):
        raise TypeError("JSON columns repeat the migration's default; see from_database")
    column.default = database_default
    return column


def references(
    table: str,
    module: str,
    *,
    null: bool = False,
    primary_key: bool = False,
    unique: bool = False,
    default: Any = None,
) -> ForeignKey[Any]:
    """A single-column foreign key to `module`'s `table` (by name: domains reference each
    other's tables without importing them, so tables add no import edges).

    Piccolo's own defaults (nullable, ON DELETE CASCADE) are not the schema's: nullability
    is stated here, and the ON DELETE rule is the migration's (Piccolo never creates these
    tables).
    """
    return ForeignKey(
        references=LazyTableReference(table_class_name=table, module_path=module),
        null=null,
        primary_key=primary_key,
        unique=unique,
        default=default,
        on_delete=OnDelete.no_action,
    )


def primary_key_columns(table: type[Table]) -> tuple[str, ...]:
    """The columns of `table`'s primary key in the database.

    Piccolo knows one primary-key column per table. A table whose key has several columns
    declares them as `primary_key_columns` and marks the first as Piccolo's key; query
    such tables with select/insert/update/delete and an explicit `where`, never
    `objects().save()`/`remove()`, which address rows by Piccolo's single key.
    """
    declared: tuple[str, ...] | None = getattr(table, "primary_key_columns", None)
    if declared is not None:
        return declared
    key: Column = table._meta.primary_key
    return (key._meta.db_column_name,)
