"""The Strawberry schema, one module per domain; resolvers stay thin."""
