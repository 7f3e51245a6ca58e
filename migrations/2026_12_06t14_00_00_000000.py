"""An entry's postings read from the partitions they can be in (issue 17)."""

from wallet.db.migrate import sql_migration

ID = "2026-12-06T14:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "entry postings pruned"

forwards = sql_migration(ID, DESCRIPTION, "0050_entry_postings_pruned.sql")
