"""Piccolo tables of insights (the schema is migrations/sql/; this mirrors it for queries)."""

from typing import ClassVar

from piccolo.columns import (
    Array,
    BigInt,
    BigSerial,
    Boolean,
    Char,
    Date,
    Integer,
    Text,
    Timestamptz,
)
from piccolo.table import Table

from wallet.db.engine import DB
from wallet.db.tables import from_database, references


class Budget(Table, tablename="budget", db=DB):
    id = BigSerial(primary_key=True)
    user_id = references("AppUser", "wallet.users.tables")
    category = Text(default=None)
    currency = Char(length=3, default=None)
    amount = BigInt(default=None)
    rollover = from_database(Boolean())
    strict = from_database(Boolean())
    alert_percents = from_database(Array(base_column=Integer()))
    starts_month = from_database(Date())
    created_at = from_database(Timestamptz())


class CategoryMccRange(Table, tablename="category_mcc_range", db=DB):
    primary_key_columns: ClassVar[tuple[str, ...]] = ("low", "high")
    low = Integer(primary_key=True, default=None)
    high = Integer(default=None)
    category = Text(default=None)


class CategoryRule(Table, tablename="category_rule", db=DB):
    id = BigSerial(primary_key=True)
    user_id = references("AppUser", "wallet.users.tables")
    pattern = Text(default=None)
    category = Text(default=None)
    created_at = from_database(Timestamptz())


class TransactionCategory(Table, tablename="transaction_category", db=DB):
    primary_key_columns: ClassVar[tuple[str, ...]] = ("user_id", "transaction_id")
    transaction_id = references("MoneyTransaction", "wallet.transactions.tables")
    user_id = references("AppUser", "wallet.users.tables", primary_key=True)
    category = Text(default=None)


class BillReminder(Table, tablename="bill_reminder", db=DB):
    id = BigSerial(primary_key=True)
    user_id = references("AppUser", "wallet.users.tables")
    name = Text(default=None)
    merchant_id = references("Merchant", "wallet.merchants.tables", null=True)
    counterparty_user_id = references("AppUser", "wallet.users.tables", null=True)
    currency = Char(length=3, default=None)
    amount = BigInt(default=None)
    day_of_month = Integer(default=None)
    remind_days_before = from_database(Integer())
    next_due = Date(default=None)
    source = Text(default=None)
    created_at = from_database(Timestamptz())
