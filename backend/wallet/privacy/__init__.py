"""GDPR export and erasure, across the domains that hold a person's data."""
