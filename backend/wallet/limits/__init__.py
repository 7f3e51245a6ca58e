"""Transaction limits by verification level, enforced in the money path."""
