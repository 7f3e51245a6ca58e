"""Sign-up and authentication.

Sign-up creates the user, their wallet and its USD ledger account and the
`user.signed_up` event in one transaction: either all exist or none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import phonenumbers

from wallet.db.engine import Connection, connection, transaction
from wallet.outbox.service import Topic, emit
from wallet.users.errors import FieldProblem, InvalidCredentials, InvalidSignUp
from wallet.users.models import SignUpRequest, User
from wallet.users.passwords import hash_password_in_pool, verify_password_in_pool
from wallet.users.validation import normalise_phone, validate_sign_up
from wallet.wallets.service import open_wallet

_USER_COLUMNS = "id, email, phone, username, created_at"
_TAKEN_BY_INDEX = {
    "app_user_email_key": "email",
    "app_user_phone_key": "phone",
    "app_user_username_key": "username",
}


def _user(row: Any) -> User:
    return User(
        id=int(row["id"]),
        email=row["email"],
        phone=row["phone"],
        username=row["username"],
        created_at=row["created_at"],
    )


async def _taken_fields(conn: Connection, request: SignUpRequest) -> list[FieldProblem]:
    row = await conn.fetchrow(
        """
        SELECT bool_or(lower(email) = $1) AS email, bool_or(phone = $2) AS phone,
               bool_or(lower(username) = $3) AS username
        FROM app_user WHERE lower(email) = $1 OR phone = $2 OR lower(username) = $3
        """,
        request.email,
        request.phone,
        request.username,
    )
    return [
        FieldProblem(field, "TAKEN", f"This {field} is already registered")
        for field in ("email", "phone", "username")
        if row is not None and row[field]
    ]


async def sign_up(request: SignUpRequest) -> User:
    """Validate, then create user + wallet + USD account atomically."""
    normalised, problems = validate_sign_up(request)
    if problems:
        raise InvalidSignUp(problems)
    password_hash = await hash_password_in_pool(normalised.password)
    try:
        async with transaction() as conn:
            taken = await _taken_fields(conn, normalised)
            if taken:
                raise InvalidSignUp(taken)
            row = await conn.fetchrow(
                "INSERT INTO app_user (email, phone, username, password_hash) "  # noqa: S608
                f"VALUES ($1, $2, $3, $4) RETURNING {_USER_COLUMNS}",
                normalised.email,
                normalised.phone,
                normalised.username,
                password_hash,
            )
            user = _user(row)
            await open_wallet(conn, user.id)
            await emit(conn, Topic.USER_SIGNED_UP, {"user_id": user.id})
            return user
    except asyncpg.UniqueViolationError as exc:
        # A concurrent sign-up took the value between our check and the insert.
        field = _TAKEN_BY_INDEX.get(exc.constraint_name or "", "username")
        raise InvalidSignUp(
            [FieldProblem(field, "TAKEN", f"This {field} is already registered")]
        ) from None


_PHONE_CHARS = frozenset("0123456789+-(). ")


def login_key(login: str) -> str:
    """The normalised identifier a login attempt is looked up and counted against.

    Input made only of digits and phone punctuation is read as a phone number (E.164).
    """
    key = login.strip().lower()
    if key and set(key) <= _PHONE_CHARS:
        try:
            return normalise_phone(key)
        except (phonenumbers.NumberParseException, ValueError):
            return key
    return key


@dataclass(frozen=True, slots=True)
class Account:
    """An active account found by a sign-in identifier, with its password hash."""

    user: User
    password_hash: str


async def find_account(login: str) -> Account | None:
    """The active account whose email, phone or username `login` names."""
    async with connection() as conn:
        row = await conn.fetchrow(
            f"SELECT {_USER_COLUMNS}, password_hash FROM app_user "  # noqa: S608
            "WHERE status = 'active' AND (lower(email) = $1 OR lower(username) = $1 "
            "OR phone = $1) LIMIT 1",
            login_key(login),
        )
    return None if row is None else Account(_user(row), row["password_hash"])


async def authenticate(login: str, password: str) -> User:
    """Check a password against the account found by email, phone or username."""
    account = await find_account(login)
    stored = account.password_hash if account else None
    if not await verify_password_in_pool(stored, password) or account is None:
        raise InvalidCredentials()
    return account.user


async def get_user(user_id: int) -> User | None:
    async with connection() as conn:
        row = await conn.fetchrow(
            f"SELECT {_USER_COLUMNS} FROM app_user WHERE id = $1 AND status = 'active'",  # noqa: S608
            user_id,
        )
    return _user(row) if row else None


async def operators_with(roles: Sequence[str]) -> list[int]:
    """The active users who hold one of the operator `roles`, by id."""
    async with connection() as conn:
        rows = await conn.fetch(
            "SELECT id FROM app_user WHERE operator_role = ANY($1::text[]) "
            "AND status = 'active' ORDER BY id",
            list(roles),
        )
    return [int(r["id"]) for r in rows]


async def operator_role(user_id: int) -> str | None:
    """The user's operator role (support, compliance, mediator, admin), or None."""
    async with connection() as conn:
        role = await conn.fetchval("SELECT operator_role FROM app_user WHERE id = $1", user_id)
    return None if role is None else str(role)
