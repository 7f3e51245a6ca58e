"""Piccolo tables of the ledger (schema: migrations/sql/0001_foundation.sql)."""

from piccolo.columns import JSONB, BigInt, BigSerial, Boolean, Text, Timestamptz, Varchar
from piccolo.table import Table

from wallet.db.engine import DB


class LedgerAccount(Table, tablename="ledger_account", db=DB):
    id = BigSerial(primary_key=True)
    code = Text(unique=True)
    owner_type = Text()
    owner_id = BigInt(null=True)
    currency = Varchar(length=3)
    purpose = Text()
    account_type = Text()
    normal_side = Varchar(length=1)
    no_overdraft = Boolean(default=False)
    status = Text(default="active")
    posted_debits = BigInt(default=0)
    posted_credits = BigInt(default=0)
    pending_debits = BigInt(default=0)
    pending_credits = BigInt(default=0)
    created_at = Timestamptz()


class JournalEntry(Table, tablename="journal_entry", db=DB):
    id = BigSerial(primary_key=True)
    kind = Text()
    description = Text(default="")
    reverses_id = BigInt(null=True)
    created_at = Timestamptz()


class Posting(Table, tablename="posting", db=DB):
    id = BigSerial(primary_key=True)
    entry_id = BigInt()
    account_id = BigInt()
    currency = Varchar(length=3)
    side = Varchar(length=1)
    amount = BigInt()
    balance_after = BigInt()
    created_at = Timestamptz()


class LedgerHold(Table, tablename="ledger_hold", db=DB):
    id = BigSerial(primary_key=True)
    debit_account_id = BigInt()
    credit_account_id = BigInt()
    currency = Varchar(length=3)
    amount = BigInt()
    posted_amount = BigInt(default=0)
    status = Text(default="pending")
    expires_at = Timestamptz()
    created_at = Timestamptz()
    resolved_at = Timestamptz(null=True)


class IdempotencyKey(Table, tablename="idempotency_key", db=DB):
    principal = Text(primary_key=True)
    key = Text()
    fingerprint = Text()
    response = JSONB()
    created_at = Timestamptz()
