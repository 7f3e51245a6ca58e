"""What waits for a phone or email until its owner proves it (docs/architecture.md)."""
