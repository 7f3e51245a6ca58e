"""Fraud: rules scored before a payment posts, holds for review, blocks."""
