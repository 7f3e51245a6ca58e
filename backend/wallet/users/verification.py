"""Prove a phone or email is yours: we send a 6-digit code, you type it back.

Codes live in Redis (hashed, 10 minutes, 5 attempts); sends are limited per hour.
Verifying a contact claims any money sent to it before you had a wallet.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import Enum

from redis.asyncio import Redis

from wallet.db.engine import transaction
from wallet.notifications.email import EmailMessage, EmailProvider
from wallet.notifications.sms import SmsProvider
from wallet.transfers.unclaimed import claim_for
from wallet.users.models import User

CODE_TTL_SECONDS = 600
MAX_ATTEMPTS = 5
MAX_SENDS_PER_HOUR = 5


class ContactChannel(Enum):
    EMAIL = "email"
    PHONE = "phone"


class VerificationError(Exception):
    pass


class TooManyCodes(VerificationError):
    def __init__(self, retry_after: int) -> None:
        super().__init__("Too many codes requested; try again later")
        self.retry_after = retry_after


class WrongCode(VerificationError):
    def __init__(self) -> None:
        super().__init__("That code is not right, or it has expired")


@dataclass(frozen=True, slots=True)
class Verified:
    contact: str
    claimed_transaction_ids: list[int]


def _key(user_id: int, channel: ContactChannel) -> str:
    return f"verify:{user_id}:{channel.value}"


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


async def send_code(
    redis: Redis, user: User, channel: ContactChannel, *, email: EmailProvider, sms: SmsProvider
) -> str:
    """Send a fresh code to the user's email or phone; return where it went."""
    sends_key = f"{_key(user.id, channel)}:sends"
    sends = await redis.incr(sends_key)
    if sends == 1:
        await redis.expire(sends_key, 3600)
    if sends > MAX_SENDS_PER_HOUR:
        raise TooManyCodes(max(int(await redis.ttl(sends_key)), 1))
    code = f"{secrets.randbelow(1_000_000):06d}"
    await redis.hset(_key(user.id, channel), mapping={"digest": _digest(code), "attempts": 0})
    await redis.expire(_key(user.id, channel), CODE_TTL_SECONDS)
    text = f"Your Wallet verification code is {code}. It expires in 10 minutes."
    if channel is ContactChannel.EMAIL:
        await email.send(EmailMessage(user.email, "Your verification code", text))
        return user.email
    await sms.send(user.phone, text)
    return user.phone


async def confirm_code(redis: Redis, user: User, channel: ContactChannel, code: str) -> Verified:
    """Check the code; mark the contact verified and claim transfers waiting for it."""
    key = _key(user.id, channel)
    stored = await redis.hgetall(key)
    if not stored:
        raise WrongCode()
    attempts = await redis.hincrby(key, "attempts", 1)
    if attempts > MAX_ATTEMPTS:
        await redis.delete(key)
        raise WrongCode()
    if not hmac.compare_digest(stored[b"digest"].decode(), _digest(code.strip())):
        raise WrongCode()
    await redis.delete(key)
    contact = user.email.lower() if channel is ContactChannel.EMAIL else user.phone
    column = "email_verified_at" if channel is ContactChannel.EMAIL else "phone_verified_at"
    async with transaction() as conn:
        await conn.execute(
            f"UPDATE app_user SET {column} = coalesce({column}, now()) WHERE id = $1",  # noqa: S608
            user.id,
        )
        claimed = await claim_for(conn, user.id, contact)
    return Verified(contact, claimed)
