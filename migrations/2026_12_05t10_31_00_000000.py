"""Split-group membership needs the invitee's consent: invitations."""

from wallet.db.migrate import sql_migration

ID = "2026-12-05T10:31:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "split group invitations"

forwards = sql_migration(ID, DESCRIPTION, "0029b_split_invitations.sql")
