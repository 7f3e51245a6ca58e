"""The transaction PIN records when it was set (the step-up policy reads it)."""

from wallet.db.migrate import sql_migration

ID = "2026-12-05T11:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "step-up policy"

forwards = sql_migration(ID, DESCRIPTION, "0030_step_up_policy.sql")
