"""Savings goals: vaults with targets, funded by hand, round-ups and weekly amounts."""
