"""Piccolo tables of splits (the schema is migrations/sql/; this mirrors it for queries)."""

from typing import ClassVar

from piccolo.columns import BigInt, BigSerial, Char, Text, Timestamptz
from piccolo.table import Table

from wallet.db.engine import DB
from wallet.db.tables import from_database, references


class SplitGroup(Table, tablename="split_group", db=DB):
    id = BigSerial(primary_key=True)
    name = Text(default=None)
    created_by = references("AppUser", "wallet.users.tables")
    created_at = from_database(Timestamptz())


class SplitGroupMember(Table, tablename="split_group_member", db=DB):
    primary_key_columns: ClassVar[tuple[str, ...]] = ("group_id", "user_id")
    group_id = references("SplitGroup", "wallet.splits.tables", primary_key=True)
    user_id = references("AppUser", "wallet.users.tables")
    joined_at = from_database(Timestamptz())


class SplitInvitation(Table, tablename="split_invitation", db=DB):
    id = BigSerial(primary_key=True)
    group_id = references("SplitGroup", "wallet.splits.tables")
    user_id = references("AppUser", "wallet.users.tables", null=True)
    contact = Text(null=True, default=None)
    invited_by = references("AppUser", "wallet.users.tables")
    status = from_database(Text())
    created_at = from_database(Timestamptz())
    answered_at = Timestamptz(null=True, default=None)


class SplitExpense(Table, tablename="split_expense", db=DB):
    id = BigSerial(primary_key=True)
    group_id = references("SplitGroup", "wallet.splits.tables")
    paid_by = references("AppUser", "wallet.users.tables")
    description = Text(default=None)
    currency = Char(length=3, default=None)
    amount = BigInt(default=None)
    method = Text(default=None)
    created_by = references("AppUser", "wallet.users.tables")
    transaction_id = references(
        "MoneyTransaction", "wallet.transactions.tables", null=True, unique=True
    )
    created_at = from_database(Timestamptz())


class SplitShare(Table, tablename="split_share", db=DB):
    primary_key_columns: ClassVar[tuple[str, ...]] = ("expense_id", "user_id")
    expense_id = references("SplitExpense", "wallet.splits.tables", primary_key=True)
    user_id = references("AppUser", "wallet.users.tables")
    amount = BigInt(default=None)


class SplitSettlement(Table, tablename="split_settlement", db=DB):
    id = BigSerial(primary_key=True)
    group_id = references("SplitGroup", "wallet.splits.tables")
    from_user = references("AppUser", "wallet.users.tables")
    to_user = references("AppUser", "wallet.users.tables")
    currency = Char(length=3, default=None)
    amount = BigInt(default=None)
    transaction_id = references("MoneyTransaction", "wallet.transactions.tables", null=True)
    money_request_id = references("MoneyRequest", "wallet.requests.tables", null=True)
    created_at = from_database(Timestamptz())
