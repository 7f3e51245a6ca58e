"""Notifications to users through external providers (email now; SMS and push later)."""
