"""Piccolo tables of requests (the schema is migrations/sql/; this mirrors it for queries)."""

from piccolo.columns import BigInt, BigSerial, Char, Text, Timestamptz
from piccolo.table import Table

from wallet.db.engine import DB
from wallet.db.tables import from_database, references


class MoneyRequest(Table, tablename="money_request", db=DB):
    id = BigSerial(primary_key=True)
    requester_id = references("AppUser", "wallet.users.tables")
    payer_id = references("AppUser", "wallet.users.tables", null=True)
    currency = Char(length=3, default=None)
    amount = BigInt(default=None)
    note = from_database(Text())
    status = from_database(Text())
    transaction_id = references(
        "MoneyTransaction", "wallet.transactions.tables", null=True, unique=True
    )
    expires_at = Timestamptz(default=None)
    created_at = from_database(Timestamptz())
    resolved_at = Timestamptz(null=True, default=None)
    payer_contact = Text(null=True, default=None)
