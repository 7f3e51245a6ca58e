"""arq worker settings and job entry points (thin: they call domain services)."""
