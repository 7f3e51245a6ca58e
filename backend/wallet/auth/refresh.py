"""Refresh tokens of the mobile app's bearer sessions: short-lived access tokens renewed
by rotating, single-use refresh tokens bound to the device key the session started on.

One sign-in starts a **family**: its current refresh token and its current access token
(an ordinary session of `wallet.auth.sessions`, which keeps the sign-in's `created_at`).
A rotation takes the current refresh token once, in one Lua script, and hands out a new
pair; the previous access token ends with it. A refresh token that was already used
shows a copy exists, so the whole family ends (reuse detection). Redis keeps only the
tokens' SHA-256: `refresh:<digest>` names the family of every token issued (until it
would have expired), `refresh_family:<id>` holds the family, `user_refresh_families:<user>`
a user's families (so signing out other devices finds them). The caller proves the
device key first (`wallet.security.devices.verify`) and passes its fingerprint here.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import ClassVar

from redis.asyncio import Redis

from wallet.auth.sessions import (
    SessionStore,
    family_key,
    session_fields,
    token_digest,
    user_families_key,
    user_sessions_key,
)

_TOKEN_KEY = "refresh:"  # noqa: S105 (a key prefix)
# Two refreshes of one token from the same device this close together are one app
# renewing twice (two requests got 401 at once, or a retry after a lost answer), not a
# copy of the token: the second is told to use the first's tokens, and nothing ends.
# Outside it, a spent token ends the family. A copy alone cannot refresh at all: each
# refresh needs a fresh proof from the device key, which never leaves the device.
RACE_SECONDS = 30


class RefreshRefused(Exception):
    """A refresh that issued nothing (and changed nothing, except ending a family whose
    token was used twice). Like a wrong password, it says who you are not, rather than
    refusing a command (`wallet.errors.Refusal`): the API answers each with its own type.
    `str()` is the message for the person."""

    code: ClassVar[str] = "REFRESH_REFUSED"

    @property
    def message(self) -> str:
        return str(self)


class RefreshTokenInvalid(RefreshRefused):
    code = "REFRESH_TOKEN_INVALID"

    def __init__(self) -> None:
        super().__init__("This sign-in has ended or expired. Sign in again.")


class RefreshTokenReused(RefreshRefused):
    code = "REFRESH_TOKEN_REUSED"

    def __init__(self, user_id: int) -> None:
        super().__init__(
            "This refresh token was already used, so a copy of it may exist: the session "
            "was signed out everywhere it was renewed. Sign in again."
        )
        self.user_id = user_id  # whose session ended (to alert them)


class RefreshInProgress(RefreshRefused):
    """The token was replaced a moment ago by another refresh from the same device (two
    requests of one app renewing at once): nothing ends, nothing is issued; the app uses
    the pair the other request got."""

    code = "REFRESH_IN_PROGRESS"

    def __init__(self) -> None:
        super().__init__(
            "This sign-in was just renewed by another request from this device. "
            "Use the newest tokens."
        )


class DeviceMismatch(RefreshRefused):
    code = "DEVICE_MISMATCH"

    def __init__(self) -> None:
        super().__init__("This refresh token belongs to another device. Sign in again on this one.")


@dataclass(frozen=True, slots=True)
class IssuedTokens:
    """A new access token and refresh token, shown to the client once (never stored)."""

    access_token: str
    access_expires_at: float
    refresh_token: str
    refresh_expires_at: float
    family: str


@dataclass(frozen=True, slots=True)
class BearerDevice:
    """Where a family's sessions run: the device row and its key's fingerprint."""

    device_id: int
    fingerprint: str
    label: str
    ip: str
    new_device: bool


# Rotate a refresh token, all or nothing.
# KEYS[1]: refresh:<digest of the presented token>.
# ARGV: 1 presented digest, 2 device fingerprint proven now, 3 now, 4 new access digest,
# 5 new refresh digest, 6 access expires_at, 7 access TTL, 8 refresh expires_at,
# 9 refresh TTL, 10 TTL of the user's session set, 11 the family's longest life (seconds
# from sign-in), 12 the race window (seconds).
# Answers {'ok', user_id, family, refresh expires_at}, {'reused', user_id}, {'raced'},
# {'invalid'} or {'device'}.
_ROTATE = """
local family = redis.call('GET', KEYS[1])
if not family then
  return {'invalid'}
end
local fkey = 'refresh_family:' .. family
local f = redis.call('HMGET', fkey, 'user_id', 'current', 'device_fingerprint', 'expires_at',
  'access', 'created_at', 'device', 'ip', 'new_device', 'device_id', 'previous', 'rotated_at')
local user = f[1]
if not user then
  return {'invalid'}
end
local function end_family()
  redis.call('DEL', fkey)
  redis.call('SREM', 'user_refresh_families:' .. user, family)
  if f[5] then
    redis.call('DEL', 'session:' .. f[5])
    redis.call('SREM', 'user_sessions:' .. user, f[5])
  end
end
local now = tonumber(ARGV[3])
local ends = tonumber(f[6]) + tonumber(ARGV[11])
if tonumber(f[4]) <= now or ends <= now then
  end_family()
  return {'invalid'}
end
if f[3] ~= ARGV[2] then
  return {'device'}
end
if f[2] ~= ARGV[1] then
  if f[11] == ARGV[1] and now - tonumber(f[12]) <= tonumber(ARGV[12]) then
    return {'raced'}
  end
  end_family()
  return {'reused', user}
end
local refresh_expires = math.min(tonumber(ARGV[8]), ends)
local refresh_ttl = math.max(1, math.ceil(refresh_expires - now))
if f[5] then
  redis.call('DEL', 'session:' .. f[5])
  redis.call('SREM', 'user_sessions:' .. user, f[5])
end
local access = 'session:' .. ARGV[4]
redis.call('HSET', access, 'user_id', user, 'created_at', f[6], 'expires_at', ARGV[6],
  'last_seen', ARGV[3], 'device', f[7], 'ip', f[8], 'new_device', f[9], 'device_id', f[10],
  'device_fingerprint', f[3], 'family', family)
redis.call('EXPIRE', access, ARGV[7])
redis.call('SADD', 'user_sessions:' .. user, ARGV[4])
redis.call('EXPIRE', 'user_sessions:' .. user, ARGV[10])
redis.call('HSET', fkey, 'current', ARGV[5], 'access', ARGV[4],
  'expires_at', tostring(refresh_expires), 'rotated_at', ARGV[3], 'previous', ARGV[1])
redis.call('EXPIRE', fkey, refresh_ttl)
redis.call('SET', 'refresh:' .. ARGV[5], family, 'EX', refresh_ttl)
redis.call('SADD', 'user_refresh_families:' .. user, family)
redis.call('EXPIRE', 'user_refresh_families:' .. user, ARGV[9])
return {'ok', user, family, tostring(refresh_expires)}
"""


class RefreshTokens:
    """Issues and rotates the refresh families of device-bound bearer sessions."""

    def __init__(
        self,
        redis: Redis,
        sessions: SessionStore,
        *,
        access_seconds: int,
        refresh_seconds: int,
        family_seconds: int = 90 * 24 * 3600,
        race_seconds: int = RACE_SECONDS,
    ) -> None:
        self._redis = redis
        self._sessions = sessions
        # An access token never outlives what any session may (the absolute lifetime).
        self._access = min(access_seconds, sessions.absolute_seconds)
        self._refresh = min(refresh_seconds, family_seconds)
        # However often it is renewed, a family ends this long after its sign-in.
        self._family = family_seconds
        self._race = race_seconds
        self._rotate = redis.register_script(_ROTATE)

    @property
    def access_seconds(self) -> int:
        return self._access

    def _access_ttl(self) -> int:
        return max(1, min(self._access, self._sessions.idle_seconds))

    async def issue(self, user_id: int, device: BearerDevice) -> IssuedTokens:
        """Start a family at sign-in: its first access and refresh tokens."""
        family = secrets.token_hex(16)
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        access_digest, refresh_digest = token_digest(access), token_digest(refresh)
        now = time.time()
        access_expires, refresh_expires = now + self._access, now + self._refresh
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(
                "session:" + access_digest,
                mapping=session_fields(
                    user_id,
                    created_at=now,
                    expires_at=access_expires,
                    device=device.label,
                    ip=device.ip,
                    new_device=device.new_device,
                    device_id=device.device_id,
                    device_fingerprint=device.fingerprint,
                    family=family,
                ),
            )
            pipe.expire("session:" + access_digest, self._access_ttl())
            pipe.sadd(user_sessions_key(user_id), access_digest)
            pipe.expire(user_sessions_key(user_id), self._sessions.absolute_seconds)
            pipe.hset(
                family_key(family),
                mapping={
                    "user_id": user_id,
                    "created_at": now,
                    "rotated_at": now,
                    "expires_at": refresh_expires,
                    "current": refresh_digest,
                    "access": access_digest,
                    "device": device.label[:80],
                    "ip": device.ip[:64],
                    "new_device": int(device.new_device),
                    "device_id": device.device_id,
                    "device_fingerprint": device.fingerprint,
                },
            )
            pipe.expire(family_key(family), self._refresh)
            pipe.set(_TOKEN_KEY + refresh_digest, family, ex=self._refresh)
            pipe.sadd(user_families_key(user_id), family)
            pipe.expire(user_families_key(user_id), self._refresh)
            await pipe.execute()
        return IssuedTokens(access, access_expires, refresh, refresh_expires, family)

    async def rotate(self, refresh_token: str, device_fingerprint: str) -> IssuedTokens:
        """Trade the family's current refresh token, presented from the device with
        `device_fingerprint` (proven by the caller), for a new pair. Raises
        `RefreshTokenInvalid` (unknown, expired or ended), `DeviceMismatch` (another
        device's token: nothing changes), `RefreshTokenReused` (a spent token: the family
        ended, its newest access token with it)."""
        if not refresh_token or len(refresh_token) > 256:
            raise RefreshTokenInvalid()
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = time.time()
        access_expires, refresh_expires = now + self._access, now + self._refresh
        answer = await self._rotate(
            keys=[_TOKEN_KEY + token_digest(refresh_token)],
            args=[
                token_digest(refresh_token),
                device_fingerprint,
                repr(now),
                token_digest(access),
                token_digest(refresh),
                repr(access_expires),
                self._access_ttl(),
                repr(refresh_expires),
                self._refresh,
                self._sessions.absolute_seconds,
                self._family,
                self._race,
            ],
        )
        if answer[0] == b"reused":
            raise RefreshTokenReused(int(answer[1]))
        if answer[0] == b"raced":
            raise RefreshInProgress()
        if answer[0] == b"device":
            raise DeviceMismatch()
        if answer[0] != b"ok":
            raise RefreshTokenInvalid()
        return IssuedTokens(access, access_expires, refresh, float(answer[3]), answer[2].decode())
