"""Authentication plumbing: sessions and rate limits, both in Redis."""
