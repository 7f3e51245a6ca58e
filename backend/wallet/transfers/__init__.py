"""Person-to-person transfers between wallets."""
