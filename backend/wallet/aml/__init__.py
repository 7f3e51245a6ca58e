"""Anti-money-laundering: monitoring, cases, SAR drafts, account freezes."""
