"""Transport layer: the Litestar app's GraphQL schema and plain HTTP routes."""
