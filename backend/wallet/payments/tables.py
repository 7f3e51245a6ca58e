"""Piccolo tables of payments (the schema is migrations/sql/; this mirrors it for queries)."""

from piccolo.columns import JSONB, BigInt, BigSerial, Char, SmallInt, Text, Timestamptz
from piccolo.table import Table

from wallet.db.engine import DB
from wallet.db.tables import from_database, references


class PaymentMethod(Table, tablename="payment_method", db=DB):
    id = BigSerial(primary_key=True)
    user_id = references("AppUser", "wallet.users.tables")
    kind = Text(default=None)
    gateway = from_database(Text())
    token = Text(unique=True, default=None)
    brand = Text(default=None)
    last4 = Char(length=4, default=None)
    exp_month = SmallInt(null=True, default=None)
    exp_year = SmallInt(null=True, default=None)
    status = from_database(Text())
    created_at = from_database(Timestamptz())
    fingerprint = Text(null=True, default=None)


class GatewayEvent(Table, tablename="gateway_event", db=DB):
    event_id = Text(primary_key=True, default=None)
    gateway = Text(default=None)
    type = Text(default=None)
    gateway_ref = Text(default=None)
    payload = JSONB(default=None)
    outcome = Text(default=None)
    received_at = from_database(Timestamptz())


class ChargebackDebt(Table, tablename="chargeback_debt", db=DB):
    id = BigSerial(primary_key=True)
    user_id = references("AppUser", "wallet.users.tables")
    currency = Char(length=3, default=None)
    amount = BigInt(default=None)
    repaid = from_database(BigInt())
    transaction_id = references("MoneyTransaction", "wallet.transactions.tables")
    created_at = from_database(Timestamptz())
