"""Piccolo tables of outbox (the schema is migrations/sql/; this mirrors it for queries)."""

from piccolo.columns import JSONB, BigInt, BigSerial, Boolean, Text, Timestamptz
from piccolo.table import Table

from wallet.db.engine import DB
from wallet.db.tables import from_database


class OutboxEvent(Table, tablename="outbox_event", db=DB):
    id = BigSerial(primary_key=True)
    topic = Text(default=None)
    payload = JSONB(default=None)
    created_at = from_database(Timestamptz())
    published_at = Timestamptz(null=True, default=None)


class OutboxRelayCursor(Table, tablename="outbox_relay_cursor", db=DB):
    """One row: every event with an id up to `last_id` is published or will never exist."""

    id = from_database(Boolean(primary_key=True))
    last_id = BigInt(default=None)
