"""User errors; the API maps each to a typed GraphQL error."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FieldProblem:
    field: str
    code: str
    message: str


class UserError(Exception):
    pass


class InvalidSignUp(UserError):
    """One or more fields are invalid or already taken; `problems` says which."""

    def __init__(self, problems: list[FieldProblem]) -> None:
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))
        self.problems = problems


class InvalidCredentials(UserError):
    def __init__(self) -> None:
        super().__init__("The login or password is wrong")
