"""Changing how you sign in and how we reach you: password, email, phone.

The GraphQL layer asks for a second factor proven lately before any of these. A new
password signs every other session out; a new email or phone is only put on file once
the code sent to it comes back (`verification.confirm_code`), so a typo cannot lock
anyone out, and the old address is told.
"""

from __future__ import annotations

import phonenumbers
from email_validator import EmailNotValidError
from redis.asyncio import Redis

from wallet.auth.ratelimit import Limit, RateLimiter
from wallet.auth.sessions import SessionStore
from wallet.db.engine import connection, transaction
from wallet.notifications.email import EmailProvider
from wallet.notifications.sms import SmsProvider
from wallet.security import alerts
from wallet.users import verification
from wallet.users.models import User
from wallet.users.passwords import (
    hash_password_in_pool,
    password_problems,
    verify_password_in_pool,
)
from wallet.users.validation import normalise_email, normalise_phone
from wallet.users.verification import ContactChannel

# Guessing the current password (change, erasure) from a session that has it open.
PASSWORD_ATTEMPTS = Limit("password:user", 5, 15 * 60)


class CredentialError(Exception):
    def __init__(self, field: str, code: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.code = code


async def password_hash(user_id: int) -> str | None:
    async with connection() as conn:
        stored: str | None = await conn.fetchval(
            "SELECT password_hash FROM app_user WHERE id = $1", user_id
        )
    return stored


async def check_password(
    user_id: int, stored_hash: str | None, password: str, limiter: RateLimiter, field: str
) -> None:
    """Refuse a wrong current password, at most `PASSWORD_ATTEMPTS` times in a window
    (`RateLimited` after that, right or wrong)."""
    await limiter.consume(PASSWORD_ATTEMPTS, str(user_id))
    if not await verify_password_in_pool(stored_hash, password):
        raise CredentialError(field, "WRONG_PASSWORD", "That password is not right")
    await limiter.refund(PASSWORD_ATTEMPTS, str(user_id))


async def change_password(
    user: User,
    current: str,
    new: str,
    sessions: SessionStore,
    keep_token: str,
    limiter: RateLimiter,
) -> int:
    """Check `current`, put `new` on file and sign out every other session (whoever
    knew the old password is out). Return how many sessions were signed out."""
    async with transaction() as conn:
        stored = await conn.fetchval(
            "SELECT password_hash FROM app_user WHERE id = $1 FOR UPDATE", user.id
        )
        await check_password(user.id, stored, current, limiter, "currentPassword")
        if problems := password_problems(new, username=user.username, email=user.email):
            raise CredentialError("newPassword", "WEAK", "Password " + "; ".join(problems))
        if await verify_password_in_pool(stored, new):
            raise CredentialError("newPassword", "UNCHANGED", "That is your current password")
        await conn.execute(
            "UPDATE app_user SET password_hash = $2 WHERE id = $1",
            user.id,
            await hash_password_in_pool(new),
        )
        await alerts.alert(
            conn,
            user.id,
            "password_changed",
            "Your password was changed",
            "Your other sessions were signed out. If you did not do this, contact us at once.",
        )
    return await sessions.revoke_others(user.id, keep_token)


def _normalised(channel: ContactChannel, raw: str) -> str:
    try:
        if channel is ContactChannel.EMAIL:
            return normalise_email(raw)
        return normalise_phone(raw)
    except (EmailNotValidError, phonenumbers.NumberParseException, ValueError):
        example = "name@example.com" if channel is ContactChannel.EMAIL else "+14155550123"
        raise CredentialError(
            "newContact", "INVALID", f"Enter a valid {channel.value}, e.g. {example}"
        ) from None


async def start_contact_change(
    redis: Redis,
    user: User,
    channel: ContactChannel,
    raw: str,
    *,
    email: EmailProvider,
    sms: SmsProvider,
) -> str:
    """Send a code to the new email or phone; return where it went. Nothing changes
    until `verification.confirm_code` gets that code back."""
    contact = _normalised(channel, raw)
    current = user.email.lower() if channel is ContactChannel.EMAIL else user.phone
    if contact == current:
        raise CredentialError("newContact", "UNCHANGED", f"That is already your {channel.value}")
    column = channel.value
    async with transaction() as conn:
        taken = await conn.fetchval(
            f"SELECT EXISTS (SELECT 1 FROM app_user WHERE lower({column}) = $1 "  # noqa: S608
            "AND id <> $2)",
            contact,
            user.id,
        )
    if taken:
        raise CredentialError("newContact", "TAKEN", str(verification.ContactTaken(channel)))
    return await verification.send_code(redis, user, channel, email=email, sms=sms, target=contact)
