"""FX refusals; each maps to a typed GraphQL error. Nothing is written when raised."""

from __future__ import annotations

from wallet.errors import Expired, NotFound, Refusal


class FxError(Refusal):
    pass


class SameCurrency(FxError):
    field = "buy"
    code = "SAME_CURRENCY"

    def __init__(self) -> None:
        super().__init__("Choose two different currencies")


class QuoteNotFound(FxError, NotFound):
    def __init__(self) -> None:
        super().__init__("No such quote")


class QuoteExpired(FxError, Expired):
    def __init__(self) -> None:
        super().__init__("The quote has expired; ask for a new one")


class QuoteAlreadyUsed(FxError):
    field = "quoteId"

    def __init__(self) -> None:
        super().__init__("The quote was already used; ask for a new one")


class QuoteMismatch(FxError):
    """A quote given with a send that does not sell what the send pays."""

    field = "quoteId"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)


class AmountTooSmall(Refusal, ValueError):
    """The amount converts to nothing once fee and spread are taken."""

    field = "amount"
    code = "TOO_SMALL"
