"""Piccolo tables of wallets (the schema is migrations/sql/; this mirrors it for queries)."""

from piccolo.columns import BigSerial, Text, Timestamptz
from piccolo.table import Table

from wallet.db.engine import DB
from wallet.db.tables import from_database, references


class Wallet(Table, tablename="wallet", db=DB):
    id = BigSerial(primary_key=True)
    user_id = references("AppUser", "wallet.users.tables", unique=True)
    status = from_database(Text())
    created_at = from_database(Timestamptz())
    restricted_reason = Text(null=True, default=None)
    frozen_reason = Text(null=True, default=None)
    frozen_at = Timestamptz(null=True, default=None)
    frozen_by_case = references("AmlCase", "wallet.aml.tables", null=True)
