"""Piccolo tables of security (the schema is migrations/sql/; this mirrors it for queries)."""

from typing import ClassVar

from piccolo.columns import JSONB, Array, BigInt, BigSerial, Bytea, Text, Timestamptz
from piccolo.table import Table

from wallet.db.engine import DB
from wallet.db.tables import from_database, references


class AuditLog(Table, tablename="audit_log", db=DB):
    id = BigSerial(primary_key=True)
    at = from_database(Timestamptz())
    actor_type = Text(default=None)
    actor_id = BigInt(null=True, default=None)
    action = Text(default=None)
    outcome = Text(default=None)
    subject = Text(null=True, default=None)
    ip = Text(null=True, default=None)
    user_agent = Text(null=True, default=None)
    details = JSONB(default="{}")  # the migration's default (schema test)
    seq = BigInt(null=True, default=None)  # one sealer gives it (wallet.security.audit)
    prev_hash = Bytea(null=True, default=None)
    hash = Bytea(null=True, default=None)


class UserDevice(Table, tablename="user_device", db=DB):
    id = BigSerial(primary_key=True)
    user_id = references("AppUser", "wallet.users.tables")
    fingerprint = Text(default=None)
    label = Text(default=None)
    first_seen = from_database(Timestamptz())
    last_seen = from_database(Timestamptz())
    last_ip = Text(null=True, default=None)
    public_key = Bytea(null=True, default=None)
    trusted_at = Timestamptz(null=True, default=None)


class UserTotp(Table, tablename="user_totp", db=DB):
    user_id = references("AppUser", "wallet.users.tables", primary_key=True)
    secret = Text(default=None)
    confirmed_at = Timestamptz(null=True, default=None)
    last_step = from_database(BigInt())
    created_at = from_database(Timestamptz())


class RecoveryCode(Table, tablename="recovery_code", db=DB):
    primary_key_columns: ClassVar[tuple[str, ...]] = ("user_id", "code_hash")
    user_id = references("AppUser", "wallet.users.tables", primary_key=True)
    code_hash = Text(default=None)
    used_at = Timestamptz(null=True, default=None)


class UserPasskey(Table, tablename="user_passkey", db=DB):
    id = BigSerial(primary_key=True)
    user_id = references("AppUser", "wallet.users.tables")
    credential_id = Bytea(unique=True, default=None)
    public_key = Bytea(default=None)
    sign_count = from_database(BigInt())
    transports = from_database(Array(base_column=Text()))
    label = Text(default=None)
    created_at = from_database(Timestamptz())
    last_used_at = Timestamptz(null=True, default=None)
