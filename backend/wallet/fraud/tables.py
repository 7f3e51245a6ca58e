"""Piccolo tables of fraud (the schema is migrations/sql/; this mirrors it for queries)."""

from typing import ClassVar

from piccolo.columns import (
    JSONB,
    BigInt,
    BigSerial,
    Boolean,
    Char,
    DoublePrecision,
    Integer,
    Text,
    Timestamptz,
)
from piccolo.table import Table

from wallet.db.engine import DB
from wallet.db.tables import from_database, references


class FraudRule(Table, tablename="fraud_rule", db=DB):
    code = Text(primary_key=True, default=None)
    kind = Text(default=None)
    # JSON columns cannot send DEFAULT through Piccolo (it JSON-encodes the value): the
    # migration's default is repeated here, and the schema test checks they agree.
    params = JSONB(default="{}")
    score = Integer(default=None)
    enabled = from_database(Boolean())
    description = Text(default=None)


class FraudBlocklist(Table, tablename="fraud_blocklist", db=DB):
    primary_key_columns: ClassVar[tuple[str, ...]] = ("kind", "value")
    kind = Text(primary_key=True, default=None)
    value = Text(default=None)
    reason = Text(default=None)
    added_at = from_database(Timestamptz())


class FraudReview(Table, tablename="fraud_review", db=DB):
    id = BigSerial(primary_key=True)
    user_id = references("AppUser", "wallet.users.tables")
    transaction_id = references(
        "MoneyTransaction", "wallet.transactions.tables", null=True, unique=True
    )
    decision = Text(default=None)
    score = Integer(default=None)
    hits = JSONB(default=None)
    amount = BigInt(default=None)
    currency = Char(length=3, default=None)
    status = Text(default=None)
    decided_by = references("AppUser", "wallet.users.tables", null=True)
    note = Text(null=True, default=None)
    created_at = from_database(Timestamptz())
    decided_at = Timestamptz(null=True, default=None)


class RiskLocation(Table, tablename="risk_location", db=DB):
    user_id = references("AppUser", "wallet.users.tables", primary_key=True)
    latitude = DoublePrecision(default=None)
    longitude = DoublePrecision(default=None)
    seen_at = Timestamptz(default=None)
