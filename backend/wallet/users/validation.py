"""Normalisation and validation of sign-up fields."""

from __future__ import annotations

import re

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from wallet.users.errors import FieldProblem
from wallet.users.models import SignUpRequest
from wallet.users.passwords import password_problems

USERNAME_RE = re.compile(r"^[a-z0-9_]{3,20}$")


def normalise_email(raw: str) -> str:
    result = validate_email(raw.strip(), check_deliverability=False)
    return result.normalized.lower()


def normalise_phone(raw: str) -> str:
    """E.164; a number without a leading + is read as a US number."""
    parsed = phonenumbers.parse(raw.strip(), None if raw.strip().startswith("+") else "US")
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError("not a valid phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def validate_sign_up(request: SignUpRequest) -> tuple[SignUpRequest, list[FieldProblem]]:
    """Return the normalised request and every problem found (all fields checked)."""
    problems: list[FieldProblem] = []
    email = phone = ""
    try:
        email = normalise_email(request.email)
    except EmailNotValidError as exc:
        problems.append(FieldProblem("email", "INVALID", str(exc)))
    try:
        phone = normalise_phone(request.phone)
    except (phonenumbers.NumberParseException, ValueError):
        problems.append(
            FieldProblem("phone", "INVALID", "Enter a valid phone number, e.g. +14155550123")
        )
    username = request.username.strip().lower()
    if not USERNAME_RE.match(username):
        problems.append(
            FieldProblem("username", "INVALID", "Use 3 to 20 letters, digits or underscores")
        )
    for message in password_problems(request.password, username=username, email=email):
        problems.append(FieldProblem("password", "WEAK", f"Password {message}"))
    return SignUpRequest(email, phone, username, request.password), problems
