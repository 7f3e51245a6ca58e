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
