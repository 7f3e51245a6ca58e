"""Foreign exchange: rates, exact pricing, quotes, conversions (docs/fx.md)."""
