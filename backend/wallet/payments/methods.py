"""Link and list cards and bank accounts. The API takes only a gateway token (the web
app tokenises card and bank details with the gateway itself), attaches it, and stores
the token with the display details the gateway reports."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from wallet.db.engine import Connection, connection, transaction
from wallet.gateway.base import InvalidPaymentDetails, PaymentGateway
from wallet.payments.errors import (
    PaymentMethodNotFound,
    TooManyPaymentMethods,
    WrongPaymentMethodKind,
)

MAX_METHODS = 10


@dataclass(frozen=True, slots=True)
class PaymentMethod:
    id: int
    kind: str
    brand: str
    last4: str
    exp_month: int | None
    exp_year: int | None
    token: str


_COLUMNS = "id, kind, brand, last4, exp_month, exp_year, token"
_INSERT = (
    "INSERT INTO payment_method (user_id, kind, token, brand, last4, exp_month, exp_year, "  # noqa: S608
    "fingerprint) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING " + _COLUMNS
)


def _method(row: object) -> PaymentMethod:
    r = dict(row)  # type: ignore[call-overload]
    return PaymentMethod(**r)


async def _insert(
    user_id: int,
    kind: str,
    token: str,
    brand: str,
    last4: str,
    exp_month: int | None,
    exp_year: int | None,
    fingerprint: str | None,
) -> PaymentMethod:
    async with transaction() as conn:
        # Serialise one user's additions so the cap holds.
        await conn.execute("SELECT 1 FROM app_user WHERE id = $1 FOR UPDATE", user_id)
        count = await conn.fetchval(
            "SELECT count(*) FROM payment_method WHERE user_id = $1 AND status = 'active'",
            user_id,
        )
        if count >= MAX_METHODS:
            raise TooManyPaymentMethods(MAX_METHODS)
        row = await conn.fetchrow(
            _INSERT,
            user_id,
            kind,
            token,
            brand,
            last4,
            exp_month,
            exp_year,
            fingerprint,
        )
    return _method(row)


# A gateway token: a letter, then letters, digits and underscores (tok_..., pm_...).
_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9_]{7,127}")
# 12 to 19 digits, maybe grouped by spaces or dashes: a card number's shape.
_DIGIT_RUN = re.compile(r"\d(?:[ -]?\d){11,18}")


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def check_token(token: str) -> str:
    """The token, or `InvalidPaymentDetails` for anything else, first of all a card or
    account number sent where a token belongs (the API must never take one)."""
    bare = re.sub(r"[\s-]", "", token)
    looks_like_pan = any(_luhn(re.sub(r"\D", "", m.group())) for m in _DIGIT_RUN.finditer(token))
    if bare.isdigit() or looks_like_pan:
        raise InvalidPaymentDetails(
            "token",
            "That looks like a card or account number. Card and bank details go to the "
            "payment gateway, which returns a token: send that token instead.",
        )
    if not _TOKEN.fullmatch(token):
        raise InvalidPaymentDetails("token", "That is not a payment token")
    return token


@asynccontextmanager
async def _detached_if_refused(gateway: PaymentGateway, token: str) -> AsyncIterator[None]:
    """An attached token whose method is then refused (e.g. too many methods) is
    detached, so the gateway does not keep details nobody uses."""
    try:
        yield
    except BaseException:
        await gateway.detach(token)
        raise


async def add_card(gateway: PaymentGateway, user_id: int, token: str) -> PaymentMethod:
    """Link the card behind a client-side token; brand, last 4 and expiry come from the
    gateway, never from the client."""
    card = await gateway.attach_card(check_token(token))
    async with _detached_if_refused(gateway, card.token):
        return await _insert(
            user_id,
            "card",
            card.token,
            card.brand,
            card.last4,
            card.exp_month,
            card.exp_year,
            card.fingerprint,
        )


async def add_bank_account(gateway: PaymentGateway, user_id: int, token: str) -> PaymentMethod:
    """Link the bank account behind a client-side token."""
    bank = await gateway.attach_bank_account(check_token(token))
    async with _detached_if_refused(gateway, bank.token):
        return await _insert(
            user_id,
            "bank_account",
            bank.token,
            bank.bank_name,
            bank.last4,
            None,
            None,
            bank.fingerprint,
        )


async def list_methods(user_id: int) -> list[PaymentMethod]:
    async with connection() as conn:
        rows = await conn.fetch(
            f"SELECT {_COLUMNS} FROM payment_method "  # noqa: S608
            "WHERE user_id = $1 AND status = 'active' ORDER BY id",
            user_id,
        )
    return [_method(r) for r in rows]


async def remove_method(gateway: PaymentGateway, user_id: int, method_id: int) -> None:
    """Remove a method and have the gateway forget its token."""
    async with transaction() as conn:
        token = await conn.fetchval(
            "UPDATE payment_method SET status = 'removed' "
            "WHERE id = $1 AND user_id = $2 AND status = 'active' RETURNING token",
            method_id,
            user_id,
        )
    if token is None:
        raise PaymentMethodNotFound(method_id)
    await gateway.detach(str(token))


async def forget_removed(gateway: PaymentGateway, user_id: int) -> None:
    """Have the gateway forget every removed method of a user (after account erasure)."""
    async with connection() as conn:
        tokens = await conn.fetch(
            "SELECT token FROM payment_method WHERE user_id = $1 AND status = 'removed'",
            user_id,
        )
    for row in tokens:
        await gateway.detach(str(row["token"]))


async def owned_method(
    conn: Connection, user_id: int, method_id: int, kind: str | None = None
) -> PaymentMethod:
    """The user's active method, or `PaymentMethodNotFound` (never another user's)."""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM payment_method "  # noqa: S608
        "WHERE id = $1 AND user_id = $2 AND status = 'active'",
        method_id,
        user_id,
    )
    if row is None:
        raise PaymentMethodNotFound(method_id)
    method = _method(row)
    if kind is not None and method.kind != kind:
        raise WrongPaymentMethodKind(kind)
    return method
