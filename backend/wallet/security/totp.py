"""TOTP second factor (RFC 6238, via pyotp) with recovery codes.

Enrolment: a new secret (encrypted at rest) and its otpauth URI, shown as a QR code;
confirming it with a valid code turns it on and returns ten recovery codes, shown once
and stored as SHA-256 hashes (they carry 50 random bits each). A code is accepted for
the current 30-second step or the one either side, and never twice: the newest step
used is kept and only later steps pass. Wrong codes count against a Redis rate limit.
"""

from __future__ import annotations

import base64
import hashlib
import io
import secrets
import time
from dataclasses import dataclass

import pyotp
import qrcode
import qrcode.image.svg

from wallet.auth.ratelimit import Limit, RateLimiter
from wallet.db.engine import connection, transaction
from wallet.security.keys import keyring

ISSUER = "Wallet"
RECOVERY_CODES = 10
ATTEMPTS = Limit("totp:user", 5, 5 * 60)


class TotpError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)


class WrongCode(TotpError):
    def __init__(self) -> None:
        super().__init__("That code is not right (or was already used)")


class NotEnrolled(TotpError):
    def __init__(self) -> None:
        super().__init__("Set up an authenticator app first")


@dataclass(frozen=True, slots=True)
class Enrolment:
    secret: str
    uri: str
    qr_svg_data_url: str


def _context(user_id: int) -> str:
    return f"user:{user_id}:totp"


def _hash(code: str) -> str:
    return hashlib.sha256(code.replace("-", "").strip().lower().encode()).hexdigest()


async def start_enrolment(user_id: int, account_name: str) -> Enrolment:
    """A new, unconfirmed secret (replacing an unconfirmed one); refused if TOTP is on."""
    secret = pyotp.random_base32()
    async with transaction() as conn:
        confirmed = await conn.fetchval(
            "SELECT confirmed_at FROM user_totp WHERE user_id = $1", user_id
        )
        if confirmed is not None:
            raise TotpError("An authenticator is already set up; turn it off first")
        await conn.execute(
            "INSERT INTO user_totp (user_id, secret) VALUES ($1, $2) ON CONFLICT (user_id) "
            "DO UPDATE SET secret = EXCLUDED.secret, last_step = 0, created_at = now()",
            user_id,
            keyring().encrypt(secret, _context(user_id)),
        )
    uri = pyotp.TOTP(secret).provisioning_uri(name=account_name, issuer_name=ISSUER)
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, border=2)
    svg = io.BytesIO()
    image.save(svg)
    data_url = "data:image/svg+xml;base64," + base64.b64encode(svg.getvalue()).decode()
    return Enrolment(secret, uri, data_url)


def _matching_step(secret: str, code: str, now: float) -> int | None:
    totp = pyotp.TOTP(secret)
    step = int(now // totp.interval)
    for candidate in (step, step - 1, step + 1):
        if secrets.compare_digest(totp.at(candidate * totp.interval), code.strip()):
            return candidate
    return None


async def _accept_code(user_id: int, code: str, *, confirmed: bool, now: float) -> bool:
    """Accept a TOTP code once (its step must be newer than the last one used)."""
    async with transaction() as conn:
        row = await conn.fetchrow(
            "SELECT secret, confirmed_at, last_step FROM user_totp WHERE user_id = $1 FOR UPDATE",
            user_id,
        )
        if row is None or (row["confirmed_at"] is not None) != confirmed:
            raise NotEnrolled()
        secret = keyring().decrypt(row["secret"], _context(user_id))
        step = _matching_step(secret, code, now)
        if step is None or step <= int(row["last_step"]):
            return False
        await conn.execute(
            "UPDATE user_totp SET last_step = $2, confirmed_at = coalesce(confirmed_at, now()) "
            "WHERE user_id = $1",
            user_id,
            step,
        )
        return True


async def confirm_enrolment(
    user_id: int, code: str, limiter: RateLimiter, *, now: float | None = None
) -> list[str]:
    """Turn TOTP on with a first valid code; the recovery codes (shown once)."""
    await limiter.consume(ATTEMPTS, str(user_id))
    if not await _accept_code(user_id, code, confirmed=False, now=now or time.time()):
        raise WrongCode()
    await limiter.refund(ATTEMPTS, str(user_id))
    codes = [
        "-".join(secrets.token_hex(5)[i : i + 5] for i in (0, 5)) for _ in range(RECOVERY_CODES)
    ]
    async with transaction() as conn:
        await conn.execute("DELETE FROM recovery_code WHERE user_id = $1", user_id)
        await conn.executemany(
            "INSERT INTO recovery_code (user_id, code_hash) VALUES ($1, $2)",
            [(user_id, _hash(c)) for c in codes],
        )
    return codes


async def verify(user_id: int, code: str, limiter: RateLimiter, *, now: float | None = None) -> str:
    """Check a TOTP code or a recovery code (used up); the method that passed."""
    # The attempt is counted before the code is looked at: racing codes cannot get
    # more than `ATTEMPTS` checked in a window.
    await limiter.consume(ATTEMPTS, str(user_id))
    text = code.strip()
    if text.isdigit() and len(text) == 6:
        if await _accept_code(user_id, text, confirmed=True, now=now or time.time()):
            await limiter.reset(ATTEMPTS, str(user_id))
            return "totp"
    else:
        async with connection() as conn:
            used = await conn.fetchval(
                "UPDATE recovery_code SET used_at = now() WHERE user_id = $1 AND code_hash = $2 "
                "AND used_at IS NULL RETURNING 1",
                user_id,
                _hash(text),
            )
        if used:
            await limiter.refund(ATTEMPTS, str(user_id))
            return "recovery_code"
    raise WrongCode()


async def is_enrolled(user_id: int) -> bool:
    async with connection() as conn:
        return bool(
            await conn.fetchval(
                "SELECT confirmed_at IS NOT NULL FROM user_totp WHERE user_id = $1", user_id
            )
        )


async def remove(user_id: int) -> None:
    """Turn TOTP off (the caller checked the step-up policy and a current code)."""
    async with transaction() as conn:
        await conn.execute("DELETE FROM user_totp WHERE user_id = $1", user_id)
        await conn.execute("DELETE FROM recovery_code WHERE user_id = $1", user_id)


async def recovery_codes_left(user_id: int) -> int:
    async with connection() as conn:
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM recovery_code WHERE user_id = $1 AND used_at IS NULL",
                user_id,
            )
        )
