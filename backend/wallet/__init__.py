"""Digital wallet platform: domain services, ledger and the GraphQL API."""
