"""Transactional outbox: events committed with their change, relayed after commit."""
