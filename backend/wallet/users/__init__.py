"""Users: sign-up, credentials and profile lookups."""
