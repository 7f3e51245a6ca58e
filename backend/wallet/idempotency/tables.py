"""Piccolo tables of idempotency (the schema is migrations/sql/; this mirrors it for queries)."""

from typing import ClassVar

from piccolo.columns import JSONB, Date, Text, Timestamptz
from piccolo.table import Table

from wallet.db.engine import DB
from wallet.db.tables import from_database


class IdempotencyKey(Table, tablename="idempotency_key", db=DB):
    # Partitioned by its day, which its key must hold (migration 0049).
    primary_key_columns: ClassVar[tuple[str, ...]] = ("principal", "key", "created_on")
    principal = Text(primary_key=True, default=None)
    key = Text(default=None)
    fingerprint = Text(default=None)
    response = JSONB(default=None)
    created_at = from_database(Timestamptz())
    created_on = from_database(Date())  # the UTC day: its partition
