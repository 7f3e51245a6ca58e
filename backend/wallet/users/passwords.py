"""Password hashing (argon2id) and the strength policy."""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()

# A dummy hash verified when the account does not exist, so that a wrong login takes
# as long as a wrong password and does not reveal which accounts exist.
_DUMMY_HASH = _HASHER.hash("not-a-real-password-but-same-cost")

MIN_LENGTH = 10
MAX_LENGTH = 128
COMMON = frozenset(
    {
        "password12",
        "password123",
        "1234567890",
        "qwertyuiop",
        "letmein123",
        "iloveyou12",
        "welcome123",
        "admin12345",
        "passw0rd12",
        "qwerty1234",
        "0987654321",
        "abc1234567",
    }
)


# One argon2id hash costs ~50-150 ms of CPU and 64 MiB, and releases the GIL. Request
# handlers run it on this pool, never on the event loop (where every other request of the
# worker would wait behind it); its size bounds the memory a burst of log-ins can take.
_POOL = ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2), thread_name_prefix="argon2")


def hash_password(password: str) -> str:
    """Blocking: for scripts and tests. Async code awaits `hash_password_in_pool`."""
    return _HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Blocking: for scripts and tests. Async code awaits `verify_password_in_pool`."""
    try:
        return _HASHER.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


async def hash_password_in_pool(password: str) -> str:
    return await asyncio.get_running_loop().run_in_executor(_POOL, hash_password, password)


async def verify_password_in_pool(password_hash: str | None, password: str) -> bool:
    return await asyncio.get_running_loop().run_in_executor(
        _POOL, verify_password, password_hash, password
    )


def password_problems(password: str, *, username: str, email: str) -> list[str]:
    """Why `password` is too weak; empty when it is acceptable."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"must be at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        problems.append(f"must be at most {MAX_LENGTH} characters")
    lowered = password.lower()
    if lowered in COMMON or len(set(lowered)) < 4:
        problems.append("is too common or too repetitive")
    local = email.split("@", 1)[0].lower()
    if (username and username.lower() in lowered) or (len(local) >= 4 and local in lowered):
        problems.append("must not contain your username or email")
    if len(password) < 16 and not (
        any(c.isalpha() for c in password) and any(not c.isalpha() for c in password)
    ):
        problems.append("needs letters and digits or symbols (or use 16+ characters)")
    return problems
