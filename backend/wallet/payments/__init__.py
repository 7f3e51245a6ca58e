"""Money in and out through the gateway: payment methods, addMoney, withdraw, callbacks."""
