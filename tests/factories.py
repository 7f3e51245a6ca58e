"""Factories for users and wallets: each call makes a new, unique, valid one."""

from __future__ import annotations

import itertools
from typing import Any

from wallet.db.engine import transaction
from wallet.money import Currency, Money
from wallet.users.models import SignUpRequest, User
from wallet.users.pin import set_pin
from wallet.users.service import sign_up
from wallet.wallets.service import grant_promotional_credit

PASSWORD = "correct-horse-42"
_seq = itertools.count(1)


def sign_up_request(**overrides: Any) -> SignUpRequest:
    n = next(_seq)
    fields = {
        "email": f"user{n}@example.com",
        # Not +1415555…: tests write such numbers out as people with no wallet, and the
        # 166th user of a worker used to be "+14155550166" (test_splits_api, in CI).
        "phone": f"+1650555{n:04d}",
        "username": f"user_{n}",
        "password": PASSWORD,
    }
    fields.update(overrides)
    return SignUpRequest(**fields)


async def make_user(balance: str | None = None, pin: str | None = None, **overrides: Any) -> User:
    """A new user; with `pin`, a transaction PIN on file from before any session (a
    second factor the step-up policy accepts for everything)."""
    user = await sign_up(sign_up_request(**overrides))
    if pin is not None:
        await set_pin(user.id, pin)
    if balance is not None and Money.parse(balance, Currency.USD).is_positive:
        async with transaction() as conn:
            await grant_promotional_credit(conn, user.id, Money.parse(balance, Currency.USD))
    return user
