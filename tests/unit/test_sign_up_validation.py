import asyncio
import time

import pytest

from wallet.users.models import SignUpRequest
from wallet.users.passwords import (
    hash_password,
    hash_password_in_pool,
    password_problems,
    verify_password,
    verify_password_in_pool,
)
from wallet.users.service import login_key
from wallet.users.validation import validate_sign_up


def _request(**kw: str) -> SignUpRequest:
    base = {
        "email": "Ann@Example.COM",
        "phone": "(415) 555-0123",
        "username": "Ann_B",
        "password": "sunny-harbour-91",
    }
    base.update(kw)
    return SignUpRequest(**base)


def test_valid_request_is_normalised() -> None:
    normalised, problems = validate_sign_up(_request())
    assert problems == []
    assert normalised.email == "ann@example.com"
    assert normalised.phone == "+14155550123"
    assert normalised.username == "ann_b"


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("email", "not-an-email", "INVALID"),
        ("email", "a@b", "INVALID"),
        ("phone", "12", "INVALID"),
        ("phone", "+1 000 000 0000", "INVALID"),
        ("username", "ab", "INVALID"),
        ("username", "has space", "INVALID"),
        ("username", "x" * 21, "INVALID"),
        ("password", "short1", "WEAK"),
        ("password", "password123", "WEAK"),
        ("password", "aaaaaaaaaaaaaaaaaaaa", "WEAK"),
        ("password", "onlyletterslong", "WEAK"),
        ("password", "ann_b-is-my-name-1", "WEAK"),
    ],
)
def test_each_invalid_field_is_reported_with_its_code(field: str, value: str, code: str) -> None:
    _, problems = validate_sign_up(_request(**{field: value}))
    assert [(p.field, p.code) for p in problems] == [(field, code)]


def test_all_problems_are_reported_at_once() -> None:
    _, problems = validate_sign_up(SignUpRequest("x", "y", "z", "p"))
    assert {p.field for p in problems} == {"email", "phone", "username", "password"}


def test_long_passphrase_of_letters_is_acceptable() -> None:
    assert password_problems("correct horse battery staple", username="ann", email="a@x.io") == []


def test_password_hash_verifies_only_the_right_password() -> None:
    hashed = hash_password("sunny-harbour-91")
    assert hashed.startswith("$argon2id$")
    assert verify_password(hashed, "sunny-harbour-91")
    assert not verify_password(hashed, "sunny-harbour-92")
    assert not verify_password(None, "anything-at-all")


async def test_hashing_in_the_pool_leaves_the_event_loop_free() -> None:
    """A log-in used to run argon2 on the event loop: every other request of the worker
    waited the whole hash. Now the loop keeps ticking while four verify at once."""
    hashed = await hash_password_in_pool("sunny-harbour-91")
    started = time.perf_counter()
    assert verify_password(hashed, "sunny-harbour-91")
    one_hash = time.perf_counter() - started
    longest_gap = 0.0

    async def tick() -> None:
        nonlocal longest_gap
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.002)
            now = time.perf_counter()
            longest_gap, last = max(longest_gap, now - last), now

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0.01)  # ticking
    results = await asyncio.gather(
        *(verify_password_in_pool(hashed, p) for p in ["sunny-harbour-91", "wrong-one-22"] * 2)
    )
    await asyncio.sleep(0.01)  # the tick after the last hash is counted too
    ticker.cancel()
    assert results == [True, False, True, False]
    assert longest_gap < one_hash / 2, (longest_gap, one_hash)


@pytest.mark.parametrize(
    ("login", "key"),
    [
        ("Alice", "alice"),
        ("ALICE@Example.com", "alice@example.com"),
        ("(415) 555-0123", "+14155550123"),
        ("+1 415 555 0123", "+14155550123"),
    ],
)
def test_login_key_normalises_usernames_emails_and_phones(login: str, key: str) -> None:
    assert login_key(login) == key
