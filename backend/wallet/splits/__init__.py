"""Bill splitting: groups, shared expenses, balances, settling up (docs/splits.md)."""
