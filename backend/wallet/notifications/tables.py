"""Piccolo tables of notifications (the schema is migrations/sql/; this mirrors it for queries)."""

from piccolo.columns import BigSerial, Text, Timestamptz
from piccolo.table import Table

from wallet.db.engine import DB
from wallet.db.tables import from_database, references


class Notification(Table, tablename="notification", db=DB):
    id = BigSerial(primary_key=True)
    user_id = references("AppUser", "wallet.users.tables")
    kind = Text(default=None)
    title = Text(default=None)
    body = Text(default=None)
    transaction_id = references("MoneyTransaction", "wallet.transactions.tables", null=True)
    request_id = references("MoneyRequest", "wallet.requests.tables", null=True)
    dedupe_key = Text(unique=True, default=None)
    read_at = Timestamptz(null=True, default=None)
    created_at = from_database(Timestamptz())
