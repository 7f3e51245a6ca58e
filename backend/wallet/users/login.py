"""Signing in with a password: find the account, take a turn against its throttle, check
the device's proof and the password, and hand back who signed in from which device.

The throttle subject is the account (whichever identifier was typed); a device the
account already trusts, or a code sent to the verified email or phone, signs in on a
subject of its own, so an attacker who keeps the account's delays running cannot keep
the owner out (docs/security.md, "Sign-in throttling").
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from redis.asyncio import Redis

from wallet.auth.throttle import LoginThrottle
from wallet.notifications.email import EmailProvider
from wallet.notifications.sms import SmsProvider
from wallet.security import devices
from wallet.security.devices import DeviceProof
from wallet.users import verification
from wallet.users.errors import InvalidCredentials
from wallet.users.models import User
from wallet.users.passwords import MAX_LENGTH, verify_password_in_pool
from wallet.users.service import find_account, login_key


@dataclass(frozen=True, slots=True)
class Credentials:
    login: str
    password: str
    ip: str
    device: DeviceProof | None = None
    # A code from `send_unlock_code`: signs in despite the account's delays.
    unlock_code: str | None = None


@dataclass(frozen=True, slots=True)
class SignedIn:
    user: User
    # The device's public key, proven by its signature (None: no proof was given).
    device_key: bytes | None


async def check(credentials: Credentials, *, redis: Redis, throttle: LoginThrottle) -> SignedIn:
    """The account and device, or `InvalidCredentials` / `RateLimited` /
    `DeviceProofInvalid`. Unknown accounts cost the same hash as known ones."""
    account = await find_account(credentials.login)
    fingerprint = None
    if credentials.device is not None:
        fingerprint = await devices.verify(redis, credentials.device)
    subject = f"user:{account.user.id}" if account else f"login:{login_key(credentials.login)}"
    if account and fingerprint and await devices.is_trusted(account.user.id, fingerprint):
        subject = f"device:{fingerprint}"
    elif account and credentials.unlock_code:
        try:
            await verification.check_login_code(redis, account.user.id, credentials.unlock_code)
        except verification.WrongCode:
            raise InvalidCredentials() from None
        subject = f"unlocked:{account.user.id}"
    await throttle.attempt(subject, credentials.ip)
    # Over-long passwords are refused before hashing (argon2 of megabytes costs seconds);
    # the attempt still counted.
    password = credentials.password if len(credentials.password) <= MAX_LENGTH else ""
    stored = account.password_hash if account else None
    if not password or not await verify_password_in_pool(stored, password) or account is None:
        raise InvalidCredentials()
    await throttle.succeeded(subject, credentials.ip)
    await throttle.clear(f"user:{account.user.id}")
    return SignedIn(account.user, credentials.device.public_key if credentials.device else None)


async def send_unlock_code(
    redis: Redis,
    login: str,
    channel: verification.ContactChannel,
    *,
    email: EmailProvider,
    sms: SmsProvider,
) -> None:
    """Send the account named by `login` a code for `Credentials.unlock_code`, to its
    verified email or phone. Unknown accounts and spent send limits pass in silence:
    the caller answers the same either way, so the answer reveals no account."""
    account = await find_account(login)
    if account is None:
        return
    with contextlib.suppress(verification.TooManyCodes):
        await verification.send_login_code(redis, account.user, channel, email=email, sms=sms)
