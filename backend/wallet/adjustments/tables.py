"""Piccolo table of adjustments (the schema is migrations/sql/0048; this mirrors it)."""

from piccolo.columns import BigInt, BigSerial, Char, Text, Timestamptz
from piccolo.table import Table

from wallet.db.engine import DB
from wallet.db.tables import from_database, references


class LedgerAdjustment(Table, tablename="ledger_adjustment", db=DB):
    id = BigSerial(primary_key=True)
    kind = Text(default=None)
    reason = Text(default=None)
    proposed_by = references("AppUser", "wallet.users.tables")
    proposed_at = from_database(Timestamptz())
    currency = Char(length=3, null=True, default=None)
    amount = BigInt(null=True, default=None)
    debit_account_id = references("LedgerAccount", "wallet.ledger.tables", null=True)
    credit_account_id = references("LedgerAccount", "wallet.ledger.tables", null=True)
    transaction_id = references("MoneyTransaction", "wallet.transactions.tables", null=True)
    recon_break_id = references("ReconBreak", "wallet.reconciliation.tables", null=True)
    status = from_database(Text())
    decided_by = references("AppUser", "wallet.users.tables", null=True)
    decided_at = Timestamptz(null=True, default=None)
    decision_note = Text(null=True, default=None)
    entry_id = references("JournalEntry", "wallet.ledger.tables", null=True)
    result_transaction_id = references("MoneyTransaction", "wallet.transactions.tables", null=True)
