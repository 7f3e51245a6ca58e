"""Database access: the one Piccolo engine, transactions and the embedded dev server."""
