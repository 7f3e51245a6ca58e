"""Piccolo tables of merchants (the schema is migrations/sql/; this mirrors it for queries)."""

from typing import ClassVar

from piccolo.columns import (
    JSONB,
    Array,
    BigInt,
    BigSerial,
    Boolean,
    Bytea,
    Char,
    Integer,
    SmallInt,
    Text,
    Time,
    Timestamptz,
)
from piccolo.table import Table

from wallet.db.engine import DB
from wallet.db.tables import from_database, references


class Merchant(Table, tablename="merchant", db=DB):
    id = BigSerial(primary_key=True)
    name = Text(default=None)
    owner_user_id = references("AppUser", "wallet.users.tables")
    created_at = from_database(Timestamptz())
    mcc = from_database(Char(length=4))
    country = from_database(Char(length=2))
    city = from_database(Text())
    settlement_schedule = from_database(Text())
    settlement_method_id = references("PaymentMethod", "wallet.payments.tables", null=True)
    fee_percent_bp = from_database(Integer())
    fee_fixed = JSONB(default='{"USD": 30}')  # the migration's default (schema test)
    status = from_database(Text())
    webhook_url = Text(null=True, default=None)
    webhook_secret = Text(null=True, default=None)
    marketplace = from_database(Boolean())
    biller_reference_pattern = Text(null=True, default=None)
    legal_name = Text(null=True, default=None)
    registration_number = Text(null=True, default=None)
    sole_trader = from_database(Boolean())
    business_address = Text(null=True, default=None)
    website = Text(null=True, default=None)
    business_description = from_database(Text())
    approval_status = from_database(Text())
    approval_reason = Text(null=True, default=None)
    approval_decided_by = references("AppUser", "wallet.users.tables", null=True)
    approval_decided_at = Timestamptz(null=True, default=None)


class MerchantApiKey(Table, tablename="merchant_api_key", db=DB):
    id = BigSerial(primary_key=True)
    merchant_id = references("Merchant", "wallet.merchants.tables")
    prefix = Text(unique=True, default=None)
    secret_hash = Text(default=None)
    scopes = Array(base_column=Text(), default=None)
    label = from_database(Text())
    created_at = from_database(Timestamptz())
    revoked_at = Timestamptz(null=True, default=None)


class MerchantStaff(Table, tablename="merchant_staff", db=DB):
    primary_key_columns: ClassVar[tuple[str, ...]] = ("merchant_id", "user_id")
    merchant_id = references("Merchant", "wallet.merchants.tables", primary_key=True)
    user_id = references("AppUser", "wallet.users.tables")
    role = Text(default=None)
    created_at = from_database(Timestamptz())


class PaymentRequest(Table, tablename="payment_request", db=DB):
    id = BigSerial(primary_key=True)
    merchant_id = references("Merchant", "wallet.merchants.tables")
    currency = Char(length=3, default=None)
    amount = BigInt(null=True, default=None)
    order_id = Text(null=True, default=None)
    description = from_database(Text())
    status = from_database(Text())
    transaction_id = references("MoneyTransaction", "wallet.transactions.tables", null=True)
    expires_at = Timestamptz(null=True, default=None)
    created_at = from_database(Timestamptz())
    paid_at = Timestamptz(null=True, default=None)
    return_url = Text(null=True, default=None)
    reference = from_database(Text(unique=True))


class WebhookDelivery(Table, tablename="webhook_delivery", db=DB):
    id = BigSerial(primary_key=True)
    merchant_id = references("Merchant", "wallet.merchants.tables")
    event_type = Text(default=None)
    payload = JSONB(default=None)
    url = Text(default=None)
    status = from_database(Text())
    attempts = from_database(Integer())
    next_attempt_at = from_database(Timestamptz())
    last_status_code = Integer(null=True, default=None)
    last_error = Text(null=True, default=None)
    created_at = from_database(Timestamptz())
    delivered_at = Timestamptz(null=True, default=None)


class SettlementBatch(Table, tablename="settlement_batch", db=DB):
    id = BigSerial(primary_key=True)
    merchant_id = references("Merchant", "wallet.merchants.tables")
    currency = Char(length=3, default=None)
    period_start_txn = BigInt(default=None)
    period_end_txn = BigInt(default=None)
    payments = Integer(default=None)
    gross = BigInt(default=None)
    fee = BigInt(default=None)
    net = BigInt(default=None)
    fee_transaction_id = references("MoneyTransaction", "wallet.transactions.tables", null=True)
    payout_transaction_id = references("MoneyTransaction", "wallet.transactions.tables")
    created_at = from_database(Timestamptz())


class Dispute(Table, tablename="dispute", db=DB):
    id = BigSerial(primary_key=True)
    payment_id = references("MoneyTransaction", "wallet.transactions.tables", unique=True)
    merchant_id = references("Merchant", "wallet.merchants.tables")
    buyer_id = references("AppUser", "wallet.users.tables")
    currency = Char(length=3, default=None)
    amount = BigInt(default=None)
    reason = Text(default=None)
    status = from_database(Text())
    merchant_response = Text(null=True, default=None)
    refund_amount = BigInt(null=True, default=None)
    decided_by = references("AppUser", "wallet.users.tables", null=True)
    created_at = from_database(Timestamptz())
    decided_at = Timestamptz(null=True, default=None)


class DisputeEvent(Table, tablename="dispute_event", db=DB):
    id = BigSerial(primary_key=True)
    dispute_id = references("Dispute", "wallet.merchants.tables")
    actor_id = references("AppUser", "wallet.users.tables", null=True)
    action = Text(default=None)
    detail = from_database(Text())
    created_at = from_database(Timestamptz())


class DisputeEvidence(Table, tablename="dispute_evidence", db=DB):
    id = BigSerial(primary_key=True)
    dispute_id = references("Dispute", "wallet.merchants.tables")
    filename = Text(default=None)
    content = Bytea(default=None)
    sha256 = Text(default=None)
    created_at = from_database(Timestamptz())


class SavedBiller(Table, tablename="saved_biller", db=DB):
    id = BigSerial(primary_key=True)
    user_id = references("AppUser", "wallet.users.tables")
    merchant_id = references("Merchant", "wallet.merchants.tables")
    account_reference = Text(default=None)
    nickname = from_database(Text())
    created_at = from_database(Timestamptz())


class BillSchedule(Table, tablename="bill_schedule", db=DB):
    id = BigSerial(primary_key=True)
    saved_biller_id = references("SavedBiller", "wallet.merchants.tables")
    user_id = references("AppUser", "wallet.users.tables")
    currency = Char(length=3, default=None)
    amount = BigInt(default=None)
    recurrence = Text(default=None)
    next_run_at = Timestamptz(default=None)
    status = from_database(Text())
    last_error = Text(null=True, default=None)
    last_transaction_id = references("MoneyTransaction", "wallet.transactions.tables", null=True)
    reminded_for = Timestamptz(null=True, default=None)
    created_at = from_database(Timestamptz())
    day_of_month = SmallInt(default=None)
    local_time = Time(default=None)
    time_zone = from_database(Text())
