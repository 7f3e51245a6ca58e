"""Business transactions: their types, the state machine and the transition log."""
