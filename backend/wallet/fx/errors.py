"""FX refusals; each maps to a typed GraphQL error. Nothing is written when raised."""

from __future__ import annotations


class FxError(Exception):
    pass


class SameCurrency(FxError):
    def __init__(self) -> None:
        super().__init__("Choose two different currencies")


class QuoteNotFound(FxError):
    def __init__(self) -> None:
        super().__init__("No such quote")


class QuoteExpired(FxError):
    def __init__(self) -> None:
        super().__init__("The quote has expired; ask for a new one")


class QuoteAlreadyUsed(FxError):
    def __init__(self) -> None:
        super().__init__("The quote was already used; ask for a new one")


class QuoteMismatch(FxError):
    """A quote given with a send that does not sell what the send pays."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
