"""Money requests: ask someone for money; they pay, decline, or it expires."""
