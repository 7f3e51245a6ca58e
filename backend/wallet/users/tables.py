"""Piccolo table of users (schema: migrations/sql/0001_foundation.sql)."""

from piccolo.columns import BigSerial, Text, Timestamptz
from piccolo.table import Table

from wallet.db.engine import DB


class AppUser(Table, tablename="app_user", db=DB):
    id = BigSerial(primary_key=True)
    email = Text()
    phone = Text()
    username = Text()
    password_hash = Text(secret=True)
    status = Text(default="active")
    created_at = Timestamptz()
