"""Rewards: rules, awards, points accounts, referral bonuses."""

from wallet.db.migrate import sql_migration

ID = "2026-11-26T19:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "rewards and cashback"

forwards = sql_migration(ID, DESCRIPTION, "0017_rewards.sql")
