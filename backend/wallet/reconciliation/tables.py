"""Piccolo tables of reconciliation (the schema is migrations/sql/0048; this mirrors it)."""

from piccolo.columns import BigInt, BigSerial, Bytea, Char, Date, Integer, Text, Timestamptz
from piccolo.table import Table

from wallet.db.engine import DB
from wallet.db.tables import from_database, references


class ReconFile(Table, tablename="recon_file", db=DB):
    id = BigSerial(primary_key=True)
    source = Text(default=None)
    format = Text(default=None)
    business_date = Date(default=None)
    file_name = Text(default=None)
    digest = Text(unique=True, default=None)
    content = Bytea(default=None)
    items = from_database(Integer())
    imported_at = from_database(Timestamptz())


class ReconItem(Table, tablename="recon_item", db=DB):
    id = BigSerial(primary_key=True)
    file_id = references("ReconFile", "wallet.reconciliation.tables")
    line = Integer(default=None)
    kind = Text(default=None)
    reference = from_database(Text())
    booked_on = Date(default=None)
    direction = Char(length=1, default=None)
    amount = BigInt(default=None)
    currency = Char(length=3, default=None)
    counterparty = from_database(Text())
    status = Text(default=None)
    transaction_id = references("MoneyTransaction", "wallet.transactions.tables", null=True)
    matched_file_id = references("ReconFile", "wallet.reconciliation.tables", null=True)
    matched_by = Text(null=True, default=None)


class ReconBreak(Table, tablename="recon_break", db=DB):
    id = BigSerial(primary_key=True)
    kind = Text(default=None)
    file_id = references("ReconFile", "wallet.reconciliation.tables")
    item_id = references("ReconItem", "wallet.reconciliation.tables", null=True)
    transaction_id = references("MoneyTransaction", "wallet.transactions.tables", null=True)
    currency = Char(length=3, default=None)
    ledger_amount = BigInt(null=True, default=None)
    file_amount = BigInt(null=True, default=None)
    detail = Text(default=None)
    opened_at = from_database(Timestamptz())
    status = from_database(Text())
    resolution = Text(null=True, default=None)
    resolved_by = references("AppUser", "wallet.users.tables", null=True)
    resolved_at = Timestamptz(null=True, default=None)
    note = Text(null=True, default=None)
    adjustment_id = references("LedgerAdjustment", "wallet.adjustments.tables", null=True)


class SafeguardingCheck(Table, tablename="safeguarding_check", db=DB):
    id = BigSerial(primary_key=True)
    file_id = references("ReconFile", "wallet.reconciliation.tables")
    business_date = Date(default=None)
    currency = Char(length=3, default=None)
    customer_money = BigInt(default=None)
    bank_balance = BigInt(default=None)
    difference = from_database(BigInt(null=True))  # generated: bank - customer money
    checked_at = from_database(Timestamptz())
