"""The transaction PIN: 4 to 6 digits, argon2-hashed, locked after repeated failures.

It is the step-up for paying a merchant until passkeys and TOTP arrive (issue 6).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from wallet.db.engine import transaction
from wallet.errors import Refusal, Throttled
from wallet.users.passwords import hash_password_in_pool, verify_password_in_pool

MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)


class PinError(Refusal):
    field = "pin"


class InvalidPinFormat(PinError):
    code = "PIN_REQUIRED"

    def __init__(self) -> None:
        super().__init__("A PIN is 4 to 6 digits")


class PinNotSet(PinError):
    code = "PIN_REQUIRED"

    def __init__(self) -> None:
        super().__init__("Set a transaction PIN first")


class PinRequired(PinError):
    """The action is confirmed with the PIN, and none was given."""

    code = "PIN_REQUIRED"

    def __init__(self) -> None:
        super().__init__("Confirm with your transaction PIN")


class WrongPin(PinError):
    code = "WRONG_PIN"

    def __init__(self, attempts_left: int) -> None:
        super().__init__(f"Wrong PIN; {attempts_left} attempt(s) left")
        self.attempts_left = attempts_left


class PinLocked(PinError, Throttled):
    def __init__(self, until: datetime) -> None:
        super().__init__("Too many wrong PINs; try again later")
        self.until = until


async def set_pin(user_id: int, pin: str) -> None:
    if not (pin.isdigit() and 4 <= len(pin) <= 6):
        raise InvalidPinFormat()
    pin_hash = await hash_password_in_pool(pin)
    async with transaction() as conn:
        await conn.execute(
            "UPDATE app_user SET pin_hash = $2, pin_set_at = now(), pin_failures = 0, "
            "pin_locked_until = NULL WHERE id = $1",
            user_id,
            pin_hash,
        )


async def verify_pin(user_id: int, pin: str) -> None:
    """Pass, or raise; failures are counted (and committed) even when the caller fails."""
    async with transaction() as conn:
        row = await conn.fetchrow(
            "SELECT pin_hash, pin_failures, pin_locked_until FROM app_user WHERE id = $1 "
            "FOR UPDATE",
            user_id,
        )
        if row is None or row["pin_hash"] is None:
            raise PinNotSet()
        now = datetime.now(UTC)
        if row["pin_locked_until"] is not None and row["pin_locked_until"] > now:
            raise PinLocked(row["pin_locked_until"])
        if await verify_password_in_pool(row["pin_hash"], pin):
            await conn.execute(
                "UPDATE app_user SET pin_failures = 0, pin_locked_until = NULL WHERE id = $1",
                user_id,
            )
            return
        failures = int(row["pin_failures"]) + 1
        locked = now + LOCKOUT if failures >= MAX_FAILURES else None
        await conn.execute(
            "UPDATE app_user SET pin_failures = $2, pin_locked_until = $3 WHERE id = $1",
            user_id,
            0 if locked else failures,
            locked,
        )
    if locked is not None:
        raise PinLocked(locked)
    raise WrongPin(MAX_FAILURES - failures)
