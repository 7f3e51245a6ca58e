"""The `app_user` table (the schema is migrations/sql/; this mirrors it for queries)."""

from piccolo.columns import BigSerial, Integer, Text, Timestamptz
from piccolo.table import Table

from wallet.db.engine import DB
from wallet.db.tables import from_database, references


class AppUser(Table, tablename="app_user", db=DB):
    id = BigSerial(primary_key=True)
    email = Text(default=None)
    phone = Text(default=None)
    username = Text(default=None)
    password_hash = Text(default=None, secret=True)
    status = from_database(Text())
    created_at = from_database(Timestamptz())
    verification_level = from_database(Text())
    operator_role = Text(null=True, default=None)
    email_verified_at = Timestamptz(null=True, default=None)
    phone_verified_at = Timestamptz(null=True, default=None)
    pin_hash = Text(null=True, default=None)
    pin_failures = from_database(Integer())
    pin_locked_until = Timestamptz(null=True, default=None)
    referred_by = references("AppUser", "wallet.identity.tables", null=True)
    closed_at = Timestamptz(null=True, default=None)
    pin_set_at = Timestamptz(null=True, default=None)
    referral_code = from_database(Text(unique=True))
