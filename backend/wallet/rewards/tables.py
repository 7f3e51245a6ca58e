"""Piccolo tables of rewards (the schema is migrations/sql/; this mirrors it for queries)."""

from piccolo.columns import BigInt, BigSerial, Boolean, Char, Integer, Numeric, Text, Timestamptz
from piccolo.table import Table

from wallet.db.engine import DB
from wallet.db.tables import from_database, references


class RewardRule(Table, tablename="reward_rule", db=DB):
    id = BigSerial(primary_key=True)
    name = Text(default=None)
    kind = Text(default=None)
    category = Text(null=True, default=None)
    merchant_id = references("Merchant", "wallet.merchants.tables", null=True)
    min_amount_usd = from_database(BigInt())
    points_per_usd = from_database(Numeric(digits=(10, 2)))
    cashback_bps = from_database(Integer())
    cap_per_payment_usd = BigInt(null=True, default=None)
    cap_per_month_usd = BigInt(null=True, default=None)
    active = from_database(Boolean())


class RewardAward(Table, tablename="reward_award", db=DB):
    payment_id = references("MoneyTransaction", "wallet.transactions.tables", primary_key=True)
    user_id = references("AppUser", "wallet.users.tables")
    points = from_database(BigInt())
    points_reversed = from_database(BigInt())
    cashback = from_database(BigInt())
    cashback_reversed = from_database(BigInt())
    cashback_usd = from_database(BigInt())
    currency = Char(length=3, default=None)
    cashback_transaction_id = references(
        "MoneyTransaction", "wallet.transactions.tables", null=True
    )
    tier = Text(default=None)
    created_at = from_database(Timestamptz())


class ReferralBonus(Table, tablename="referral_bonus", db=DB):
    referred_user_id = references("AppUser", "wallet.users.tables", primary_key=True)
    referrer_id = references("AppUser", "wallet.users.tables")
    transaction_id = references("MoneyTransaction", "wallet.transactions.tables")
    created_at = from_database(Timestamptz())


class Referral(Table, tablename="referral", db=DB):
    referred_user_id = references("AppUser", "wallet.users.tables", primary_key=True)
    referrer_id = references("AppUser", "wallet.users.tables")
    status = from_database(Text())
    refusal = Text(null=True, default=None)
    joined_device = Text(null=True, default=None)
    qualify_by = Timestamptz(default=None)
    created_at = from_database(Timestamptz())
    decided_at = Timestamptz(null=True, default=None)
