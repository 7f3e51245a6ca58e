"""Wallets: a user's container of currency balances, each a ledger account."""
