"""Statements of wallet balances that add up and can be verified against the ledger."""
