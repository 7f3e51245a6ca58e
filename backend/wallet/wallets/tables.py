"""Piccolo table of wallets (schema: migrations/sql/0001_foundation.sql)."""

from piccolo.columns import BigInt, BigSerial, Text, Timestamptz
from piccolo.table import Table

from wallet.db.engine import DB


class Wallet(Table, tablename="wallet", db=DB):
    id = BigSerial(primary_key=True)
    user_id = BigInt(unique=True)
    status = Text(default="active")
    created_at = Timestamptz()
