"""Piccolo tables of notifications (the schema is migrations/sql/; this mirrors it for queries)."""

from typing import ClassVar

from piccolo.columns import BigInt, BigSerial, Boolean, Char, Text, Timestamptz
from piccolo.table import Table

from wallet.db.engine import DB
from wallet.db.tables import from_database, references


class Notification(Table, tablename="notification", db=DB):
    id = BigSerial(primary_key=True)
    user_id = references("AppUser", "wallet.users.tables")
    kind = Text(default=None)
    title = Text(default=None)
    body = Text(default=None)
    transaction_id = references("MoneyTransaction", "wallet.transactions.tables", null=True)
    request_id = references("MoneyRequest", "wallet.requests.tables", null=True)
    dedupe_key = Text(unique=True, default=None)
    read_at = Timestamptz(null=True, default=None)
    created_at = from_database(Timestamptz())
    link = Text(null=True, default=None)
    in_app = from_database(Boolean())
    pushed_at = Timestamptz(null=True, default=None)


class NotificationPreference(Table, tablename="notification_preference", db=DB):
    """A user's choice for one kind on one channel, where it differs from the default."""

    primary_key_columns: ClassVar[tuple[str, ...]] = ("user_id", "kind", "channel")

    user_id = references("AppUser", "wallet.users.tables", primary_key=True)
    kind = Text(default=None)
    channel = Text(default=None)
    enabled = Boolean(default=None)
    updated_at = from_database(Timestamptz())


class PushSubscription(Table, tablename="push_subscription", db=DB):
    id = BigSerial(primary_key=True)
    user_id = references("AppUser", "wallet.users.tables")
    endpoint = Text(unique=True, default=None)
    p256dh = Text(default=None)
    auth = Text(default=None)
    created_at = from_database(Timestamptz())
    last_sent_at = Timestamptz(null=True, default=None)


class LowBalanceAlert(Table, tablename="low_balance_alert", db=DB):
    primary_key_columns: ClassVar[tuple[str, ...]] = ("user_id", "currency")
    user_id = references("AppUser", "wallet.users.tables", primary_key=True)
    currency = Char(length=3, default=None)
    threshold_minor = BigInt(default=None)
    armed = from_database(Boolean())
    last_fired_at = Timestamptz(null=True, default=None)
    fired_event_id = BigInt(null=True, default=None)
    updated_at = from_database(Timestamptz())
