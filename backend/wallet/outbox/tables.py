"""Piccolo table of the outbox (schema: migrations/sql/0001_foundation.sql)."""

from piccolo.columns import JSONB, BigSerial, Text, Timestamptz
from piccolo.table import Table

from wallet.db.engine import DB


class OutboxEvent(Table, tablename="outbox_event", db=DB):
    id = BigSerial(primary_key=True)
    topic = Text()
    payload = JSONB()
    created_at = Timestamptz()
    published_at = Timestamptz(null=True)
