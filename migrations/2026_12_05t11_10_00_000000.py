"""Devices are bound by a key pair and trusted once a second factor is proven on them."""

from wallet.db.migrate import sql_migration

ID = "2026-12-05T11:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "device binding"

forwards = sql_migration(ID, DESCRIPTION, "0031_device_binding.sql")
