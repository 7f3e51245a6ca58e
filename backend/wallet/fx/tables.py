"""Piccolo tables of fx (the schema is migrations/sql/; this mirrors it for queries)."""

from piccolo.columns import BigInt, Char, Integer, Numeric, Text, Timestamptz
from piccolo.table import Table

from wallet.db.engine import DB
from wallet.db.tables import from_database, references


class FxQuote(Table, tablename="fx_quote", db=DB):
    id = Text(primary_key=True, default=None)
    user_id = references("AppUser", "wallet.users.tables")
    sell_currency = Char(length=3, default=None)
    buy_currency = Char(length=3, default=None)
    fixed_side = Text(default=None)
    sell_amount = BigInt(default=None)
    fee_amount = BigInt(default=None)
    buy_amount = BigInt(default=None)
    position_amount = BigInt(default=None)
    spread_amount = BigInt(default=None)
    rounding_amount = BigInt(default=None)
    mid_rate = Numeric(digits=(30, 12), default=None)
    customer_rate = Numeric(digits=(30, 12), default=None)
    spread_bps = Integer(default=None)
    fee_bps = Integer(default=None)
    rates_as_of = Timestamptz(default=None)
    expires_at = Timestamptz(default=None)
    created_at = from_database(Timestamptz())
    transaction_id = references(
        "MoneyTransaction", "wallet.transactions.tables", null=True, unique=True
    )
