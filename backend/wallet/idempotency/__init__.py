"""Idempotency keys for money-moving commands."""
