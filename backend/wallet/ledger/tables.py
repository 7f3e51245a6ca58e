"""Piccolo tables of ledger (the schema is migrations/sql/; this mirrors it for queries)."""

from typing import ClassVar

from piccolo.columns import JSONB, BigInt, BigSerial, Boolean, Char, Integer, Text, Timestamptz
from piccolo.table import Table

from wallet.db.engine import DB
from wallet.db.tables import ForeignKeys, from_database, references


class LedgerAccount(Table, tablename="ledger_account", db=DB):
    id = BigSerial(primary_key=True)
    code = Text(unique=True, default=None)
    owner_type = Text(default=None)
    owner_id = BigInt(null=True, default=None)
    currency = Char(length=3, default=None)
    purpose = Text(default=None)
    account_type = Text(default=None)
    normal_side = Char(length=1, default=None)
    no_overdraft = from_database(Boolean())
    status = from_database(Text())
    posted_debits = from_database(BigInt())
    posted_credits = from_database(BigInt())
    pending_debits = from_database(BigInt())
    pending_credits = from_database(BigInt())
    created_at = from_database(Timestamptz())
    hot = from_database(Boolean())
    last_seq = from_database(BigInt())
    last_posted_at = Timestamptz(null=True, default=None)


class JournalEntry(Table, tablename="journal_entry", db=DB):
    id = BigSerial(primary_key=True)
    kind = Text(default=None)
    description = from_database(Text())
    reverses_id = references("JournalEntry", "wallet.ledger.tables", null=True)
    created_at = from_database(Timestamptz())
    # The (top-level) transaction that wrote the entry: only it may add postings.
    xact_id = from_database(BigInt(null=True))


class Posting(Table, tablename="posting", db=DB):
    # Piccolo has no composite foreign keys: declared for the schema test.
    composite_foreign_keys: ClassVar[ForeignKeys] = (
        (("account_id", "currency"), "ledger_account", ("id", "currency")),
    )
    id = BigSerial(primary_key=True)
    entry_id = references("JournalEntry", "wallet.ledger.tables")
    account_id = BigInt(default=None)
    currency = Char(length=3, default=None)
    side = Char(length=1, default=None)
    amount = BigInt(default=None)
    balance_after = BigInt(null=True, default=None)
    created_at = from_database(Timestamptz())
    account_seq = BigInt(null=True, default=None)
    posted_at = Timestamptz(null=True, default=None)


class LedgerHold(Table, tablename="ledger_hold", db=DB):
    composite_foreign_keys: ClassVar[ForeignKeys] = (
        (("debit_account_id", "currency"), "ledger_account", ("id", "currency")),
        (("credit_account_id", "currency"), "ledger_account", ("id", "currency")),
    )
    id = BigSerial(primary_key=True)
    debit_account_id = BigInt(default=None)
    credit_account_id = BigInt(default=None)
    currency = Char(length=3, default=None)
    amount = BigInt(default=None)
    posted_amount = from_database(BigInt())
    status = from_database(Text())
    expires_at = Timestamptz(default=None)
    created_at = from_database(Timestamptz())
    resolved_at = Timestamptz(null=True, default=None)


class LedgerAccountDelta(Table, tablename="ledger_account_delta", db=DB):
    id = BigSerial(primary_key=True)
    account_id = references("LedgerAccount", "wallet.ledger.tables")
    posting_id = references("Posting", "wallet.ledger.tables")
    debit = from_database(BigInt())
    credit = from_database(BigInt())


class PostingSnapshot(Table, tablename="posting_snapshot", db=DB):
    posting_id = references("Posting", "wallet.ledger.tables", primary_key=True)
    balance_after = BigInt(default=None)
    account_id = references("LedgerAccount", "wallet.ledger.tables", null=True)
    account_seq = BigInt(null=True, default=None)
    posted_at = Timestamptz(null=True, default=None)


class LedgerBalance(Table, tablename="ledger_balance", db=DB):
    """The view of each account's balance with its queued hot-account deltas added (read
    only; PostgreSQL reports every view column as nullable, and a view has no keys)."""

    primary_key_columns: ClassVar[tuple[str, ...]] = ()
    id = BigInt(primary_key=True, null=True, default=None)
    code = Text(null=True, default=None)
    owner_type = Text(null=True, default=None)
    owner_id = BigInt(null=True, default=None)
    currency = Char(length=3, null=True, default=None)
    purpose = Text(null=True, default=None)
    account_type = Text(null=True, default=None)
    normal_side = Char(length=1, null=True, default=None)
    no_overdraft = Boolean(null=True, default=None)
    status = Text(null=True, default=None)
    hot = Boolean(null=True, default=None)
    posted_debits = BigInt(null=True, default=None)
    posted_credits = BigInt(null=True, default=None)
    pending_debits = BigInt(null=True, default=None)
    pending_credits = BigInt(null=True, default=None)
    available = BigInt(null=True, default=None)  # `ledger_available` (migration 0044)


class LedgerCheckRun(Table, tablename="ledger_check_run", db=DB):
    id = BigSerial(primary_key=True)
    mode = Text(default=None)
    after_posting_id = BigInt(default=None)
    through_posting_id = BigInt(default=None)
    after_entry_id = BigInt(default=None)
    through_entry_id = BigInt(default=None)
    breaches = Integer(default=None)
    details = JSONB(default="[]")
    started_at = Timestamptz(default=None)
    finished_at = from_database(Timestamptz())
