"""Merchants: onboarding, staff, API keys, payment requests (QR/NFC), payments, refunds."""
