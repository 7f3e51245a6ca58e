"""Refresh tokens of mobile sessions (`wallet.auth.refresh`) against real Redis: issued at
sign-in, rotated once each, a spent one ends the whole family, bound to the device key,
and every way of signing out ends the family too."""

from __future__ import annotations

import asyncio
import time

import pytest
from redis.asyncio import Redis

from wallet.auth.refresh import (
    BearerDevice,
    DeviceMismatch,
    IssuedTokens,
    RefreshInProgress,
    RefreshTokenInvalid,
    RefreshTokenReused,
    RefreshTokens,
)
from wallet.auth.sessions import SessionStore, session_id, token_digest

PHONE = "key:" + "a" * 64
OTHER_PHONE = "key:" + "b" * 64
USER = 41


def stores(
    redis: Redis,
    *,
    access: int = 900,
    refresh: int = 30 * 24 * 3600,
    family: int = 90 * 24 * 3600,
    race: int = 30,
) -> tuple[SessionStore, RefreshTokens]:
    sessions = SessionStore(redis, idle_seconds=1800, absolute_seconds=43200)
    return sessions, RefreshTokens(
        redis,
        sessions,
        access_seconds=access,
        refresh_seconds=refresh,
        family_seconds=family,
        race_seconds=race,
    )


def phone(fingerprint: str = PHONE, *, new_device: bool = False) -> BearerDevice:
    return BearerDevice(
        device_id=7,
        fingerprint=fingerprint,
        label="Wallet app",
        ip="10.0.0.5",
        new_device=new_device,
    )


async def everything_in(redis: Redis) -> bytes:
    """Every key and value Redis holds, as one blob to search."""
    blob = b""
    async for key in redis.scan_iter():
        blob += key + b"\n"
        kind = await redis.type(key)
        if kind == b"string":
            blob += await redis.get(key) + b"\n"
        elif kind == b"hash":
            for field, value in (await redis.hgetall(key)).items():
                blob += field + b"=" + value + b"\n"
        elif kind == b"set":
            blob += b",".join(await redis.smembers(key)) + b"\n"
    return blob


async def test_a_sign_in_gets_an_access_token_and_a_refresh_token_kept_only_as_digests(
    redis: Redis,
) -> None:
    sessions, tokens = stores(redis)
    before = time.time()
    issued = await tokens.issue(USER, phone())
    session = await sessions.resolve(issued.access_token)
    assert session is not None
    assert (session.user_id, session.device_id, session.device_fingerprint) == (USER, 7, PHONE)
    assert before + 899 <= issued.access_expires_at <= time.time() + 900
    assert before + 30 * 24 * 3600 - 1 <= issued.refresh_expires_at
    assert await redis.ttl("session:" + token_digest(issued.access_token)) <= 900
    stored = await everything_in(redis)
    assert token_digest(issued.refresh_token).encode() in stored
    assert issued.refresh_token.encode() not in stored
    assert issued.access_token.encode() not in stored


async def test_a_rotation_hands_out_a_new_pair_and_ends_the_previous_access_token(
    redis: Redis,
) -> None:
    sessions, tokens = stores(redis)
    first = await tokens.issue(USER, phone())
    started = (await sessions.resolve(first.access_token)).created_at  # type: ignore[union-attr]
    await asyncio.sleep(0.05)
    second = await tokens.rotate(first.refresh_token, PHONE)
    assert second.family == first.family
    assert {second.access_token, second.refresh_token}.isdisjoint(
        {first.access_token, first.refresh_token}
    )
    assert await sessions.resolve(first.access_token) is None
    renewed = await sessions.resolve(second.access_token)
    assert renewed is not None
    assert (renewed.user_id, renewed.device_fingerprint) == (USER, PHONE)
    # The session still started at sign-in: step-up's "a factor from before the session"
    # cannot be satisfied by refreshing.
    assert renewed.created_at == pytest.approx(started)
    assert second.refresh_expires_at > first.refresh_expires_at  # slid
    # One session listed for the family, the newest access token's.
    assert [s.id for s in await sessions.sessions_of(USER)] == [session_id(second.access_token)]


async def test_a_spent_refresh_token_is_reuse_and_ends_the_whole_family(redis: Redis) -> None:
    sessions, tokens = stores(redis)
    first = await tokens.issue(USER, phone())
    second = await tokens.rotate(first.refresh_token, PHONE)
    third = await tokens.rotate(second.refresh_token, PHONE)
    assert await sessions.resolve(third.access_token) is not None

    with pytest.raises(RefreshTokenReused) as reused:
        await tokens.rotate(first.refresh_token, PHONE)
    assert reused.value.user_id == USER  # whom to alert

    # The newest access token and the newest refresh token died with the family.
    assert await sessions.resolve(third.access_token) is None
    with pytest.raises(RefreshTokenInvalid):
        await tokens.rotate(third.refresh_token, PHONE)
    assert await sessions.sessions_of(USER) == []
    assert not await redis.exists("refresh_family:" + first.family)


async def test_concurrent_rotations_of_one_token_let_exactly_one_win_and_end_nothing(
    redis: Redis,
) -> None:
    """One app renewing twice at once (two requests got 401, or a retry after a lost
    answer) is not a stolen copy: one rotation wins, the others are told to use its
    pair, and nothing ends."""
    sessions, tokens = stores(redis)
    for racers in (2, 2, 2, 8):
        issued = await tokens.issue(USER, phone())
        # Each rotation on its own connection of the pool, all at once.
        results = await asyncio.gather(
            *(tokens.rotate(issued.refresh_token, PHONE) for _ in range(racers)),
            return_exceptions=True,
        )
        won = [r for r in results if isinstance(r, IssuedTokens)]
        lost = [r for r in results if not isinstance(r, IssuedTokens)]
        assert len(won) == 1, results
        assert all(isinstance(r, RefreshInProgress) for r in lost), results
        assert await sessions.resolve(won[0].access_token) is not None
        again = await tokens.rotate(won[0].refresh_token, PHONE)
        assert await sessions.resolve(again.access_token) is not None


async def test_a_spent_token_after_the_race_window_is_reuse_and_ends_the_family(
    redis: Redis,
) -> None:
    sessions, tokens = stores(redis, race=1)
    issued = await tokens.issue(USER, phone())
    newer = await tokens.rotate(issued.refresh_token, PHONE)
    with pytest.raises(RefreshInProgress):  # within the window: nothing ends
        await tokens.rotate(issued.refresh_token, PHONE)
    assert await sessions.resolve(newer.access_token) is not None
    await asyncio.sleep(1.2)
    with pytest.raises(RefreshTokenReused):
        await tokens.rotate(issued.refresh_token, PHONE)
    assert await sessions.resolve(newer.access_token) is None
    with pytest.raises(RefreshTokenInvalid):
        await tokens.rotate(newer.refresh_token, PHONE)


async def test_a_sign_in_ends_at_its_longest_life_however_often_it_is_renewed(
    redis: Redis,
) -> None:
    """Sliding alone let a device key and a refresh token live for ever, used once a
    month; the family ends `family` seconds after its sign-in."""
    sessions, tokens = stores(redis, family=2)
    issued = await tokens.issue(USER, phone())
    assert issued.refresh_expires_at <= time.time() + 2
    await asyncio.sleep(0.8)
    kept = await tokens.rotate(issued.refresh_token, PHONE)
    assert kept.refresh_expires_at <= issued.refresh_expires_at + 0.01  # capped, not slid
    await asyncio.sleep(0.8)
    kept = await tokens.rotate(kept.refresh_token, PHONE)
    await asyncio.sleep(0.6)  # 2.2 s after sign-in, 0.6 s after the last renewal
    with pytest.raises(RefreshTokenInvalid):
        await tokens.rotate(kept.refresh_token, PHONE)
    assert await sessions.resolve(kept.access_token) is None


async def test_a_refresh_from_another_device_key_is_refused_and_changes_nothing(
    redis: Redis,
) -> None:
    sessions, tokens = stores(redis)
    issued = await tokens.issue(USER, phone())
    with pytest.raises(DeviceMismatch):
        await tokens.rotate(issued.refresh_token, OTHER_PHONE)
    # The token was not spent and the session not ended: its own device still refreshes.
    assert await sessions.resolve(issued.access_token) is not None
    renewed = await tokens.rotate(issued.refresh_token, PHONE)
    assert await sessions.resolve(renewed.access_token) is not None


async def test_garbage_and_unknown_refresh_tokens_are_invalid(redis: Redis) -> None:
    _, tokens = stores(redis)
    await tokens.issue(USER, phone())
    for token in ("", "x" * 300, "not-a-token-we-issued"):
        with pytest.raises(RefreshTokenInvalid):
            await tokens.rotate(token, PHONE)


async def test_a_refresh_token_expires_but_each_rotation_slides_its_lifetime(
    redis: Redis,
) -> None:
    _, tokens = stores(redis, refresh=2)
    issued = await tokens.issue(USER, phone())
    await asyncio.sleep(1.2)
    kept = await tokens.rotate(issued.refresh_token, PHONE)
    await asyncio.sleep(1.2)  # 2.4 s after sign-in: alive, since the rotation slid it
    kept = await tokens.rotate(kept.refresh_token, PHONE)
    await asyncio.sleep(2.2)  # unused for longer than its lifetime
    with pytest.raises(RefreshTokenInvalid):
        await tokens.rotate(kept.refresh_token, PHONE)


async def test_an_expired_access_token_is_renewed_by_the_refresh_token(redis: Redis) -> None:
    sessions, tokens = stores(redis, access=1)
    issued = await tokens.issue(USER, phone())
    assert await sessions.resolve(issued.access_token) is not None
    await asyncio.sleep(1.2)
    assert await sessions.resolve(issued.access_token) is None
    renewed = await tokens.rotate(issued.refresh_token, PHONE)
    session = await sessions.resolve(renewed.access_token)
    assert session is not None
    assert session.user_id == USER


async def test_signing_out_other_sessions_ends_their_refresh_families(redis: Redis) -> None:
    sessions, tokens = stores(redis, access=2)
    here = await tokens.issue(USER, phone())
    other_phone = await tokens.issue(USER, phone(OTHER_PHONE))
    lapsed = await tokens.issue(USER, phone(OTHER_PHONE))
    browser = await sessions.create(USER, device="Chrome on Linux")
    await asyncio.sleep(2.2)  # every access token lapsed; the families live on
    here = await tokens.rotate(here.refresh_token, PHONE)
    other_phone = await tokens.rotate(other_phone.refresh_token, OTHER_PHONE)

    ended = await sessions.revoke_others(USER, here.access_token)

    assert ended == 3
    for family in (other_phone, lapsed):
        with pytest.raises(RefreshTokenInvalid):
            await tokens.rotate(family.refresh_token, OTHER_PHONE)
    assert await sessions.resolve(other_phone.access_token) is None
    assert await sessions.resolve(browser) is None
    # The session that asked keeps its family.
    assert await sessions.resolve(here.access_token) is not None
    await tokens.rotate(here.refresh_token, PHONE)


async def test_a_password_reset_ends_every_family(redis: Redis) -> None:
    sessions, tokens = stores(redis)
    families = [await tokens.issue(USER, phone()) for _ in range(2)]
    await sessions.revoke_others(USER, None)  # as wallet.users.password_reset does
    for family in families:
        assert await sessions.resolve(family.access_token) is None
        with pytest.raises(RefreshTokenInvalid):
            await tokens.rotate(family.refresh_token, PHONE)


async def test_logging_out_ends_the_refresh_family(redis: Redis) -> None:
    sessions, tokens = stores(redis)
    issued = await tokens.issue(USER, phone())
    renewed = await tokens.rotate(issued.refresh_token, PHONE)
    await sessions.revoke(renewed.access_token)
    with pytest.raises(RefreshTokenInvalid):
        await tokens.rotate(renewed.refresh_token, PHONE)
    assert await redis.smembers(f"user_refresh_families:{USER}") == set()


async def test_a_family_is_listed_and_signed_out_by_id_even_after_its_access_token_lapsed(
    redis: Redis,
) -> None:
    sessions, tokens = stores(redis, access=2)
    live = await tokens.issue(USER, phone())
    lapsed = await tokens.issue(USER, phone(OTHER_PHONE))
    await asyncio.sleep(2.2)
    live = await tokens.rotate(live.refresh_token, PHONE)

    listed = {s.id: s for s in await sessions.sessions_of(USER)}
    assert set(listed) == {session_id(live.access_token), lapsed.family[:16]}
    assert listed[lapsed.family[:16]].device == "Wallet app"

    assert await sessions.revoke_id(USER, lapsed.family[:16]) is True
    with pytest.raises(RefreshTokenInvalid):
        await tokens.rotate(lapsed.refresh_token, OTHER_PHONE)
    assert await sessions.revoke_id(USER + 1, session_id(live.access_token)) is False
    assert await sessions.revoke_id(USER, session_id(live.access_token)) is True
    with pytest.raises(RefreshTokenInvalid):
        await tokens.rotate(live.refresh_token, PHONE)
    assert await sessions.sessions_of(USER) == []


async def test_a_device_trusted_during_a_session_stays_trusted_after_refreshing(
    redis: Redis,
) -> None:
    sessions, tokens = stores(redis)
    issued = await tokens.issue(USER, phone(new_device=True))
    assert (await sessions.resolve(issued.access_token)).new_device  # type: ignore[union-attr]
    untrusted = await tokens.rotate(issued.refresh_token, PHONE)
    assert (await sessions.resolve(untrusted.access_token)).new_device  # type: ignore[union-attr]
    await sessions.mark_trusted(untrusted.access_token)
    renewed = await tokens.rotate(untrusted.refresh_token, PHONE)
    session = await sessions.resolve(renewed.access_token)
    assert session is not None
    assert session.new_device is False
