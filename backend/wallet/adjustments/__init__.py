"""Four-eyes changes to the ledger: an adjusting entry or a reversal that one operator
proposes and a second operator approves (or rejects). Only the approval writes."""
