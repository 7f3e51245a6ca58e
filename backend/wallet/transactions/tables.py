"""Piccolo tables of transactions (the schema is migrations/sql/; this mirrors it for queries)."""

from piccolo.columns import BigInt, BigSerial, Char, Text, Timestamptz
from piccolo.table import Table

from wallet.db.engine import DB
from wallet.db.tables import from_database, references


class MoneyTransaction(Table, tablename="money_transaction", db=DB):
    id = BigSerial(primary_key=True)
    type = Text(default=None)
    status = Text(default=None)
    initiator_user_id = references("AppUser", "wallet.users.tables", null=True)
    counterparty_user_id = references("AppUser", "wallet.users.tables", null=True)
    currency = Char(length=3, default=None)
    amount = BigInt(default=None)
    note = from_database(Text())
    entry_id = references("JournalEntry", "wallet.ledger.tables", null=True)
    failure_reason = Text(null=True, default=None)
    created_at = from_database(Timestamptz())
    updated_at = from_database(Timestamptz())
    payment_method_id = references("PaymentMethod", "wallet.payments.tables", null=True)
    # Unique where set: partial unique indexes (migration 0040), which Piccolo cannot
    # declare; NULL for every send, so the index skips those rows.
    gateway_ref = Text(null=True, default=None)
    hold_id = references("LedgerHold", "wallet.ledger.tables", null=True)
    reverses_id = references("MoneyTransaction", "wallet.transactions.tables", null=True)
    recipient_contact = Text(null=True, default=None)
    expires_at = Timestamptz(null=True, default=None)
    merchant_id = references("Merchant", "wallet.merchants.tables", null=True)
    payment_request_id = references("PaymentRequest", "wallet.merchants.tables", null=True)
    refund_of_id = references("MoneyTransaction", "wallet.transactions.tables", null=True)
    refunded_amount = from_database(BigInt())
    settlement_batch_id = references("SettlementBatch", "wallet.merchants.tables", null=True)
    escrow_release_at = Timestamptz(null=True, default=None)
    counter_currency = Char(length=3, null=True, default=None)
    counter_amount = BigInt(null=True, default=None)
    savings_goal_id = references("SavingsGoal", "wallet.goals.tables", null=True)


class TransactionTransition(Table, tablename="transaction_transition", db=DB):
    id = BigSerial(primary_key=True)
    transaction_id = references("MoneyTransaction", "wallet.transactions.tables")
    from_status = Text(null=True, default=None)
    to_status = Text(default=None)
    reason = Text(null=True, default=None)
    created_at = from_database(Timestamptz())


class TransactionReversal(Table, tablename="transaction_reversal", db=DB):
    """A transaction is reversed at most once: the key `money_transaction` cannot hold
    since it is partitioned (filled by a trigger on its insert, migration 0049)."""

    reversed_id = references("MoneyTransaction", "wallet.transactions.tables", primary_key=True)
    reversal_id = references("MoneyTransaction", "wallet.transactions.tables", unique=True)


class TransactionGatewayRef(Table, tablename="transaction_gateway_ref", db=DB):
    """A gateway reference names one transaction: the key `money_transaction` cannot hold
    since it is partitioned (filled by a trigger on its insert, migration 0049)."""

    gateway_ref = Text(primary_key=True, default=None)
    transaction_id = references("MoneyTransaction", "wallet.transactions.tables", unique=True)


class TransactionEntry(Table, tablename="transaction_entry", db=DB):
    entry_id = references("JournalEntry", "wallet.ledger.tables", primary_key=True)
    transaction_id = references("MoneyTransaction", "wallet.transactions.tables")
