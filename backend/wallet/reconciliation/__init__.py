"""Daily reconciliation of the ledger against the processor's settlement file (CSV) and
the safeguarding bank account's statement (camt.053), and the safeguarding check."""
