"""Typed errors returned as members of mutation result unions, and error masking."""

from __future__ import annotations

from enum import Enum

import strawberry
from graphql.error import GraphQLError


@strawberry.enum
class ErrorCode(Enum):
    VALIDATION_ERROR = "VALIDATION_ERROR"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    RATE_LIMITED = "RATE_LIMITED"
    NOT_AUTHENTICATED = "NOT_AUTHENTICATED"


@strawberry.interface(description="Every typed error has a machine code and a human message.")
class UserError:
    code: ErrorCode
    message: str


@strawberry.type
class FieldError:
    field: str
    code: str
    message: str


@strawberry.type
class ValidationError(UserError):
    field_errors: list[FieldError]


@strawberry.type
class InvalidCredentials(UserError):
    pass


@strawberry.type
class RateLimited(UserError):
    retry_after_seconds: int


@strawberry.type
class NotAuthenticated(UserError):
    pass


def not_authenticated() -> NotAuthenticated:
    return NotAuthenticated(code=ErrorCode.NOT_AUTHENTICATED, message="Log in first")


class PublicError(Exception):
    """An error whose message is safe to show in the top-level `errors` list."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.extensions = {"code": code.value}


def should_mask_error(error: GraphQLError) -> bool:
    """Hide unexpected exceptions; keep validation errors and `PublicError`s."""
    original = error.original_error
    return original is not None and not isinstance(original, PublicError)
