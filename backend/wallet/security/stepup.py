"""Step-up: sensitive actions need a second factor proven in the last few minutes.

Proving one (`grant`, after a PIN, TOTP or recovery code checks out) marks the session
as stepped up for `seconds`; the session's token is stored only as its SHA-256. An
action that needs it and finds none raises `StepUpRequired` with the methods the user
has, and the client retries the same request (same idempotency key) after proving one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from redis.asyncio import Redis

from wallet.db.engine import connection
from wallet.fx.rates import SANDBOX_PER_USD, RateSnapshot
from wallet.money import Money

# Values amounts when the caller has no rate snapshot at hand.
SANDBOX_RATES = RateSnapshot(dict(SANDBOX_PER_USD), datetime(2026, 1, 1, tzinfo=UTC))


class StepUpRequired(Exception):
    def __init__(self, methods: list[str], why: str) -> None:
        message = f"Confirm it is you to {why}"
        if not methods:
            message += ": set a transaction PIN first"
        super().__init__(message)
        self.methods = methods


def _key(session_token: str) -> str:
    return "stepup:" + hashlib.sha256(session_token.encode()).hexdigest()


class StepUpStore:
    def __init__(self, redis: Redis, seconds: int) -> None:
        self._redis = redis
        self.seconds = seconds

    async def grant(self, session_token: str, method: str) -> None:
        await self._redis.set(_key(session_token), method, ex=self.seconds)

    async def fresh(self, session_token: str | None) -> bool:
        return bool(session_token) and bool(await self._redis.exists(_key(session_token or "")))


async def methods_for(user_id: int) -> list[str]:
    """The second factors the user has set up: PIN, TOTP (recovery codes with TOTP),
    passkeys."""
    async with connection() as conn:
        row = await conn.fetchrow(
            "SELECT u.pin_hash IS NOT NULL AS pin, t.confirmed_at IS NOT NULL AS totp, "
            "EXISTS (SELECT 1 FROM user_passkey p WHERE p.user_id = u.id) AS passkey "
            "FROM app_user u LEFT JOIN user_totp t ON t.user_id = u.id WHERE u.id = $1",
            user_id,
        )
    if row is None:
        return []
    found = (("PIN", row["pin"]), ("TOTP", row["totp"]), ("PASSKEY", row["passkey"]))
    return [m for m, on in found if on]


@dataclass(frozen=True, slots=True)
class LargeAmountCheck:
    """Money leaving a wallet above `above_usd_minor` (US cents, valued with `rates`)
    needs a second factor proven lately.

    Services call `require` after the funds and limit checks, inside their transaction,
    so those refusals come first and a refusal here keeps nothing of the movement.
    """

    stepped_up: bool
    above_usd_minor: int
    rates: RateSnapshot | None = None

    async def require(self, user_id: int, amount: Money, why: str) -> None:
        if self.stepped_up:
            return
        if (self.rates or SANDBOX_RATES).usd_value(amount) > self.above_usd_minor:
            raise StepUpRequired(await methods_for(user_id), why)
