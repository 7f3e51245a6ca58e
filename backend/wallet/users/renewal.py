"""Renewing a mobile session: the device proves its key, then its refresh token rotates
(`wallet.auth.refresh`); a spent token coming back signs the session out and alerts the
user."""

from __future__ import annotations

from redis.asyncio import Redis

from wallet.auth.refresh import IssuedTokens, RefreshTokenReused, RefreshTokens
from wallet.security import alerts, devices
from wallet.security.devices import DeviceProof


async def renew(
    redis: Redis, tokens: RefreshTokens, refresh_token: str, proof: DeviceProof
) -> IssuedTokens:
    """A new access token and refresh token, or `DeviceProofInvalid` (the proof does not
    check out: nothing changes), `DeviceMismatch`, `RefreshTokenInvalid`,
    `RefreshTokenReused` (the family ended; the user is alerted)."""
    fingerprint = await devices.verify(redis, proof)
    try:
        return await tokens.rotate(refresh_token, fingerprint)
    except RefreshTokenReused as exc:
        await alerts.refresh_token_reused(exc.user_id)
        raise
