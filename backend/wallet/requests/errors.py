"""Money request refusals; nothing is written when raised."""

from __future__ import annotations


class RequestError(Exception):
    pass


class RequestNotFound(RequestError):
    def __init__(self, request_id: int) -> None:
        super().__init__(f"No money request {request_id} for you")


class RequestNotOpen(RequestError):
    def __init__(self, request_id: int, status: str) -> None:
        super().__init__(f"Money request {request_id} is {status}")
        self.status = status


class RequestExpiryOutOfRange(RequestError):
    """A request must last 1 to the configured number of days."""

    def __init__(self, max_days: int) -> None:
        super().__init__(f"A request can last 1 to {max_days} days")
        self.max_days = max_days
