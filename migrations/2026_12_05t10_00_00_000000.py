"""Audit log hardening (issue 14): TRUNCATE guards on append-only history, and the scrub
of details written before the allow-list, with the chain unsealed for re-sealing."""

from wallet.db.migrate import sql_migration
from wallet.security.audit_scrub import scrub

ID = "2026-12-05T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "audit log scrub and truncate guards"

forwards = sql_migration(ID, DESCRIPTION, "0026_audit_hardening.sql", then=scrub)
