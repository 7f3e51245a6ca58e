"""Prove a phone or email is yours: we send a 6-digit code, you type it back.

Codes live in Redis (hashed, 10 minutes, 5 attempts); sends are limited per hour.
Verifying a contact claims any money sent to it before you had a wallet, and makes you
the payer of money requests, and the invitee of split-group invitations, waiting for it:
those belong to domains above this one, so the caller hands them over
(`wallet.waiting.service.hand_over`) in the verifying transaction.

The same code proves a new email or phone (`target`): the contact on file changes only
when the code sent to the new one comes back, and the old one is told.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum

import asyncpg
from redis.asyncio import Redis

from wallet.db.engine import Connection, connection, transaction
from wallet.notifications.email import EmailMessage, EmailProvider
from wallet.notifications.sms import SmsProvider
from wallet.outbox.service import Topic, emit
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


class ContactTaken(VerificationError):
    def __init__(self, channel: ContactChannel) -> None:
        super().__init__(f"That {channel.value} belongs to another account")
        self.channel = channel


@dataclass(frozen=True, slots=True)
class Verified:
    contact: str
    claimed_transaction_ids: list[int]


@dataclass(frozen=True, slots=True)
class Contacts:
    email: str
    phone: str
    email_verified: bool
    phone_verified: bool


async def contacts_of(user_id: int) -> Contacts | None:
    async with connection() as conn:
        row = await conn.fetchrow(
            "SELECT email, phone, email_verified_at IS NOT NULL AS email_verified, "
            "phone_verified_at IS NOT NULL AS phone_verified FROM app_user WHERE id = $1",
            user_id,
        )
    return Contacts(**dict(row)) if row else None


def _key(user_id: int, channel: ContactChannel) -> str:
    return f"verify:{user_id}:{channel.value}"


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


async def _issue_code(
    redis: Redis,
    key: str,
    sends_key: str,
    extra: dict[str, str] | None = None,
    *,
    ttl_seconds: int = CODE_TTL_SECONDS,
) -> str:
    """A fresh 6-digit code stored (hashed) under `key` for `ttl_seconds`, replacing any
    earlier one; sends are limited per hour under `sends_key` (counted before the check)."""
    sends = await redis.incr(sends_key)
    if sends == 1:
        await redis.expire(sends_key, 3600)
    if sends > MAX_SENDS_PER_HOUR:
        raise TooManyCodes(max(int(await redis.ttl(sends_key)), 1))
    code = f"{secrets.randbelow(1_000_000):06d}"
    pending: dict[str, str | int] = {"digest": _digest(code), "attempts": 0, **(extra or {})}
    async with redis.pipeline(transaction=True) as pipe:
        # A new code replaces the last one, and whatever it was for.
        pipe.delete(key)
        pipe.hset(key, mapping=pending)
        pipe.expire(key, ttl_seconds)
        await pipe.execute()
    return code


async def _count_try(redis: Redis, key: str, code: str) -> dict[bytes, bytes]:
    """Count a try at the code stored under `key`, then compare: its record if `code`
    matches, else `WrongCode`. A racing try that used the code up or burnt it may leave
    only the counter behind (the increment re-creates the hash): that is no code."""
    stored = await redis.hgetall(key)
    if not stored:
        raise WrongCode()
    attempts = await redis.hincrby(key, "attempts", 1)
    digest = stored.get(b"digest")
    if attempts > MAX_ATTEMPTS or digest is None:
        await redis.delete(key)
        raise WrongCode()
    if not hmac.compare_digest(digest.decode(), _digest(code.strip())):
        raise WrongCode()
    return dict(stored)


async def _check_code(redis: Redis, key: str, code: str) -> None:
    """Raise `WrongCode` unless `code` is the one stored under `key`, leaving it there
    (a flow that needs more proof before using it up). A wrong try counts towards
    `MAX_ATTEMPTS` before the comparison, as in `_take_code`; a right one is given back,
    so asking for the next step does not wear the code out."""
    await _count_try(redis, key, code)
    await redis.hincrby(key, "attempts", -1)


async def _take_code(redis: Redis, key: str, code: str) -> dict[bytes, bytes]:
    """The stored code's record if `code` matches it (it is then used up); each try is
    counted before the comparison, so racing guesses get at most `MAX_ATTEMPTS`."""
    stored = await _count_try(redis, key, code)
    # Only one of two concurrent right answers gets the record.
    if not await redis.delete(key):
        raise WrongCode()
    return dict(stored)


async def _deliver(
    channel: ContactChannel,
    address: str,
    subject: str,
    text: str,
    *,
    email: EmailProvider,
    sms: SmsProvider,
) -> str:
    if channel is ContactChannel.EMAIL:
        await email.send(EmailMessage(address, subject, text))
    else:
        await sms.send(address, text)
    return address


async def send_code(
    redis: Redis,
    user: User,
    channel: ContactChannel,
    *,
    email: EmailProvider,
    sms: SmsProvider,
    target: str | None = None,
) -> str:
    """Send a fresh code to the user's email or phone, or to `target` (a normalised new
    email or phone that replaces it once confirmed); return where it went."""
    key = _key(user.id, channel)
    code = await _issue_code(redis, key, f"{key}:sends", {"target": target} if target else None)
    text = f"Your Wallet verification code is {code}. It expires in 10 minutes."
    on_file = user.email if channel is ContactChannel.EMAIL else user.phone
    return await _deliver(
        channel, target or on_file, "Your verification code", text, email=email, sms=sms
    )


def _step_up_key(user_id: int) -> str:
    return f"stepup-code:{user_id}"


async def send_step_up_code(
    redis: Redis, user: User, channel: ContactChannel, *, email: EmailProvider, sms: SmsProvider
) -> str:
    """Send a code to the email or phone on file that, with the password, proves it is
    the account's owner (step-up with no second factor yet: docs/security.md)."""
    key = _step_up_key(user.id)
    code = await _issue_code(redis, key, f"{key}:sends", {"channel": channel.value})
    text = (
        f"Your Wallet security code is {code}. It expires in 10 minutes. If you did not "
        "ask for it, someone may know your password: change it."
    )
    on_file = user.email if channel is ContactChannel.EMAIL else user.phone
    return await _deliver(channel, on_file, "Confirm it is you", text, email=email, sms=sms)


def _login_code_key(user_id: int) -> str:
    return f"login-code:{user_id}"


async def send_login_code(
    redis: Redis, user: User, channel: ContactChannel, *, email: EmailProvider, sms: SmsProvider
) -> None:
    """Send a code that gets the account's owner in while its sign-in is slowed down (by
    someone guessing the password); only to a verified email or phone."""
    contacts = await contacts_of(user.id)
    verified = contacts is not None and (
        contacts.email_verified if channel is ContactChannel.EMAIL else contacts.phone_verified
    )
    if not verified:
        return
    key = _login_code_key(user.id)
    code = await _issue_code(redis, key, f"{key}:sends")
    text = (
        f"Your Wallet sign-in code is {code}. It expires in 10 minutes. Someone has been "
        "trying to sign in to your wallet: if it was not you, your account is still safe."
    )
    on_file = user.email if channel is ContactChannel.EMAIL else user.phone
    await _deliver(channel, on_file, "Your sign-in code", text, email=email, sms=sms)


def _reset_code_key(user_id: int) -> str:
    return f"reset-code:{user_id}"


async def send_password_reset_code(
    redis: Redis,
    user: User,
    channel: ContactChannel,
    ttl_seconds: int,
    *,
    email: EmailProvider,
    sms: SmsProvider,
) -> bool:
    """Send a code that resets the password, to the **verified** email or phone only;
    whether one went (no code to an unproven contact, nor past the hourly sends)."""
    contacts = await contacts_of(user.id)
    verified = contacts is not None and (
        contacts.email_verified if channel is ContactChannel.EMAIL else contacts.phone_verified
    )
    if not verified:
        return False
    key = _reset_code_key(user.id)
    try:
        code = await _issue_code(redis, key, f"{key}:sends", ttl_seconds=ttl_seconds)
    except TooManyCodes:
        return False
    minutes = ttl_seconds // 60
    text = (
        f"Your Wallet password reset code is {code}. It expires in {minutes} minutes and "
        "works once. If you did not ask for it, ignore this message: your password stays "
        "as it is."
    )
    address = user.email if channel is ContactChannel.EMAIL else user.phone
    await _deliver(channel, address, "Reset your Wallet password", text, email=email, sms=sms)
    return True


async def check_password_reset_code(redis: Redis, user_id: int, code: str) -> None:
    """Raise `WrongCode` unless `code` is the user's reset code; it stays usable."""
    await _check_code(redis, _reset_code_key(user_id), code)


async def use_password_reset_code(redis: Redis, user_id: int, code: str) -> None:
    """Use the reset code up (or raise `WrongCode`): only one reset gets it."""
    await _take_code(redis, _reset_code_key(user_id), code)


async def check_login_code(redis: Redis, user_id: int, code: str) -> None:
    """Use up the sign-in code, or raise `WrongCode`."""
    await _take_code(redis, _login_code_key(user_id), code)


async def check_step_up_code(redis: Redis, user_id: int, code: str) -> ContactChannel:
    """Use up the step-up code (or raise `WrongCode`); the channel it went to, which is
    thereby proven, so it is marked verified."""
    stored = await _take_code(redis, _step_up_key(user_id), code)
    channel = ContactChannel(stored[b"channel"].decode())
    column = f"{channel.value}_verified_at"
    async with transaction() as conn:
        await conn.execute(
            f"UPDATE app_user SET {column} = coalesce({column}, now()) WHERE id = $1",  # noqa: S608
            user_id,
        )
    return channel


# Hands over to `user_id` what waits for `contact`, in the given transaction, and returns
# the ids of the transfers it claimed.
HandOver = Callable[[Connection, int, str], Awaitable[list[int]]]


async def confirm_code(
    redis: Redis, user: User, channel: ContactChannel, code: str, hand_over: HandOver
) -> Verified:
    """Check the code; mark the contact verified and, in the same transaction, take over
    what waits for it (`hand_over`)."""
    stored = await _take_code(redis, _key(user.id, channel), code)
    target = stored.get(b"target")
    async with transaction() as conn:
        if target is not None:
            contact = target.decode()
            await _switch_contact(conn, user, channel, contact)
        else:
            contact = user.email.lower() if channel is ContactChannel.EMAIL else user.phone
            column = f"{channel.value}_verified_at"
            await conn.execute(
                f"UPDATE app_user SET {column} = coalesce({column}, now()) WHERE id = $1",  # noqa: S608
                user.id,
            )
        claimed = await hand_over(conn, user.id, contact)
    return Verified(contact, claimed)


async def _switch_contact(
    conn: Connection, user: User, channel: ContactChannel, contact: str
) -> None:
    """Put the proven `contact` on file (verified) and tell the old address."""
    column = channel.value
    try:
        await conn.execute(
            f"UPDATE app_user SET {column} = $2, {column}_verified_at = now() "  # noqa: S608
            "WHERE id = $1",
            user.id,
            contact,
        )
    except asyncpg.UniqueViolationError:
        raise ContactTaken(channel) from None
    old = user.email if channel is ContactChannel.EMAIL else user.phone
    await emit(
        conn,
        Topic.NOTICE,
        {
            "user_id": user.id,
            "kind": f"{column}_changed",
            "title": f"Your {column} was changed",
            "body": f"The {column} on your wallet changed from {old} to {contact}. "
            "If you did not do this, contact us at once.",
            "dedupe_key": f"{column}_changed:{user.id}:{contact}:{secrets.token_hex(4)}",
            # The old email hears of it too: whoever took over cannot silence that.
            "email_also": user.email if channel is ContactChannel.EMAIL else None,
            "sms": True,
        },
    )
