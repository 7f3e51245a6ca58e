"""Money request refusals; nothing is written when raised."""

from __future__ import annotations

from wallet.errors import NotFound, Refusal


class RequestError(Refusal):
    pass


class RequestNotFound(RequestError, NotFound):
    def __init__(self, request_id: int) -> None:
        super().__init__(f"No money request {request_id} for you")


class RequestNotOpen(RequestError):
    field = "requestId"

    def __init__(self, request_id: int, status: str) -> None:
        super().__init__(f"Money request {request_id} is {status}")
        self.status = status
        self.code = status.upper()


class RequestExpiryOutOfRange(RequestError):
    """A request must last 1 to the configured number of days."""

    field = "expiresInDays"
    code = "OUT_OF_RANGE"

    def __init__(self, max_days: int) -> None:
        super().__init__(f"A request can last 1 to {max_days} days")
        self.max_days = max_days
