"""Piccolo tables of statements (the schema is migrations/sql/; this mirrors it for queries)."""

from typing import ClassVar

from piccolo.columns import Bytea, Date, Timestamptz
from piccolo.table import Table

from wallet.db.engine import DB
from wallet.db.tables import from_database, references


class Statement(Table, tablename="statement", db=DB):
    primary_key_columns: ClassVar[tuple[str, ...]] = ("user_id", "month")
    user_id = references("AppUser", "wallet.users.tables", primary_key=True)
    month = Date(default=None)
    pdf = Bytea(default=None)
    created_at = from_database(Timestamptz())
