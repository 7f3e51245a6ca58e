"""Link and list cards and bank accounts. Only the gateway's token and display details
are stored; numbers go to the gateway and nowhere else."""

from __future__ import annotations

from dataclasses import dataclass

from wallet.db.engine import Connection, connection, transaction
from wallet.gateway.base import PaymentGateway
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
    "INSERT INTO payment_method (user_id, kind, token, brand, last4, exp_month, exp_year) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING " + _COLUMNS
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
        )
    return _method(row)


async def add_card(
    gateway: PaymentGateway, user_id: int, number: str, exp_month: int, exp_year: int, cvc: str
) -> PaymentMethod:
    card = await gateway.tokenize_card(number, exp_month, exp_year, cvc)
    return await _insert(
        user_id, "card", card.token, card.brand, card.last4, card.exp_month, card.exp_year
    )


async def add_bank_account(
    gateway: PaymentGateway, user_id: int, routing_number: str, account_number: str, holder: str
) -> PaymentMethod:
    bank = await gateway.tokenize_bank_account(routing_number, account_number, holder)
    return await _insert(
        user_id, "bank_account", bank.token, bank.bank_name, bank.last4, None, None
    )


async def list_methods(user_id: int) -> list[PaymentMethod]:
    async with connection() as conn:
        rows = await conn.fetch(
            f"SELECT {_COLUMNS} FROM payment_method "  # noqa: S608
            "WHERE user_id = $1 AND status = 'active' ORDER BY id",
            user_id,
        )
    return [_method(r) for r in rows]


async def remove_method(user_id: int, method_id: int) -> None:
    async with transaction() as conn:
        removed = await conn.fetchval(
            "UPDATE payment_method SET status = 'removed' "
            "WHERE id = $1 AND user_id = $2 AND status = 'active' RETURNING id",
            method_id,
            user_id,
        )
    if removed is None:
        raise PaymentMethodNotFound(method_id)


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
