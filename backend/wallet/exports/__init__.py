"""Exports of a user's records: CSV of transactions, monthly PDF statements."""
