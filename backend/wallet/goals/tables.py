"""Piccolo tables of goals (the schema is migrations/sql/; this mirrors it for queries)."""

from piccolo.columns import BigInt, BigSerial, Boolean, Char, Date, Text, Timestamptz
from piccolo.table import Table

from wallet.db.engine import DB
from wallet.db.tables import from_database, references


class SavingsGoal(Table, tablename="savings_goal", db=DB):
    id = BigSerial(primary_key=True)
    user_id = references("AppUser", "wallet.users.tables")
    name = Text(default=None)
    currency = Char(length=3, default=None)
    target = BigInt(default=None)
    target_date = Date(null=True, default=None)
    account_id = references("LedgerAccount", "wallet.ledger.tables", unique=True)
    round_up = from_database(Boolean())
    weekly_amount = from_database(BigInt())
    next_weekly_at = Timestamptz(null=True, default=None)
    status = from_database(Text())
    created_at = from_database(Timestamptz())


class SavingsRoundUp(Table, tablename="savings_round_up", db=DB):
    payment_id = references("MoneyTransaction", "wallet.transactions.tables", primary_key=True)
    goal_id = references("SavingsGoal", "wallet.goals.tables")
    transaction_id = references("MoneyTransaction", "wallet.transactions.tables", null=True)
    created_at = from_database(Timestamptz())
