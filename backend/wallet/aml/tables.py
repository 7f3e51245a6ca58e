"""Piccolo tables of aml (the schema is migrations/sql/; this mirrors it for queries)."""

from piccolo.columns import JSONB, BigSerial, Date, Integer, Text, Timestamptz
from piccolo.table import Table

from wallet.db.engine import DB
from wallet.db.tables import from_database, references


class AmlCase(Table, tablename="aml_case", db=DB):
    id = BigSerial(primary_key=True)
    user_id = references("AppUser", "wallet.users.tables")
    detector = Text(default=None)
    status = from_database(Text())
    summary = Text(default=None)
    evidence = JSONB(default=None)
    closed_reason = Text(null=True, default=None)
    created_at = from_database(Timestamptz())
    updated_at = from_database(Timestamptz())
    cleared_by = references("AppUser", "wallet.users.tables", null=True)
    cleared_at = Timestamptz(null=True, default=None)


class AmlMonitorCursor(Table, tablename="aml_monitor_cursor", db=DB):
    id = Integer(primary_key=True, default=None)
    scanned_to = Timestamptz(default=None)


class AmlSar(Table, tablename="aml_sar", db=DB):
    id = BigSerial(primary_key=True)
    case_id = references("AmlCase", "wallet.aml.tables", unique=True)
    document = JSONB(default=None)
    created_by = references("AppUser", "wallet.users.tables")
    created_at = from_database(Timestamptz())


class SanctionsEntry(Table, tablename="sanctions_entry", db=DB):
    id = BigSerial(primary_key=True)
    name = Text(default=None)
    program = Text(default=None)
    listed_at = Date(default=None)
    added_at = from_database(Timestamptz())
