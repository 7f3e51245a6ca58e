"""Sessions: opaque random tokens, stored only as their SHA-256 in Redis.

A session expires after `idle_seconds` without use and, regardless of use, after
`absolute_seconds` from creation. Every lookup slides the idle window, never past the
absolute deadline. Logging in always issues a new token (no session fixation).

A mobile session may belong to a refresh **family** (wallet.auth.refresh): the chain of
access tokens one sign-in's refresh tokens issued. Ending such a session by any path
(log out, sign out one or other devices, a password change) ends its family, so its
refresh token cannot bring it back.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from redis.asyncio import Redis

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Session:
    user_id: int
    created_at: float
    expires_at: float
    # Started on a device the user does not trust yet: money leaving needs step-up.
    new_device: bool = False
    # The device it was started on (wallet.security.devices), if recorded.
    device_id: int | None = None
    device_fingerprint: str | None = None


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """A live session as its owner sees it (the id is a prefix of the token's hash)."""

    id: str
    device: str
    ip: str
    created_at: float
    last_seen: float


# A session's device is trusted now: HSET only on a session that still exists (never
# resurrect an expired one without TTL), and on its refresh family, so the next access
# token the family issues is no new-device session either.
_MARK_TRUSTED = """
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
redis.call('HSET', KEYS[1], 'new_device', '0')
local family = redis.call('HGET', KEYS[1], 'family')
if family and family ~= '' and redis.call('EXISTS', 'refresh_family:' .. family) == 1 then
  redis.call('HSET', 'refresh_family:' .. family, 'new_device', '0')
end
return 1
"""

# A refresh family ends: its hash, its current access session, and both ids in the
# user's sets, in one step. A rotation of the same family either ran before (then its
# new access token is the one deleted here) or finds the family gone. ARGV: family id.
END_FAMILY = """
local user = redis.call('HGET', KEYS[1], 'user_id')
if not user then
  return 0
end
local access = redis.call('HGET', KEYS[1], 'access')
redis.call('DEL', KEYS[1])
redis.call('SREM', 'user_refresh_families:' .. user, ARGV[1])
if access then
  redis.call('DEL', 'session:' .. access)
  redis.call('SREM', 'user_sessions:' .. user, access)
end
return 1
"""


# A session looked up and its idle window slid, in one round trip (every request does
# this): its fields, or nothing if it is gone or past its absolute deadline (deleted).
# ARGV: now, idle seconds.
# KEYS[2], when given, is another hash of the client's read in the same round trip:
# the answer is then {session fields, that hash's fields}.
_RESOLVE = """
local data = redis.call('HGETALL', KEYS[1])
local function answer(session)
  if #KEYS == 1 then
    return session
  end
  return {session, redis.call('HGETALL', KEYS[2])}
end
if #data == 0 then
  return answer(data)
end
local now = tonumber(ARGV[1])
local remaining = -1
for i = 1, #data, 2 do
  if data[i] == 'expires_at' then
    remaining = tonumber(data[i + 1]) - now
  end
end
if remaining <= 0 then
  redis.call('DEL', KEYS[1])
  return answer({})
end
redis.call('EXPIRE', KEYS[1], math.max(1, math.floor(math.min(tonumber(ARGV[2]), remaining))))
redis.call('HSET', KEYS[1], 'last_seen', ARGV[1])
return answer(data)
"""


@dataclass(frozen=True, slots=True)
class HashRead(Generic[T]):
    """Another Redis hash a request needs beside its session (say, the session's step-up
    proofs), read in the session's round trip: its key and what its fields mean."""

    key: str
    parse: Callable[[dict[bytes, bytes]], T]


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_digest(token: str) -> str:
    """What Redis keeps of a token (a session's or a refresh token): its SHA-256, hex."""
    return _digest(token)


def _key(token: str) -> str:
    return "session:" + _digest(token)


def family_key(family: str) -> str:
    return "refresh_family:" + family


def user_families_key(user_id: int) -> str:
    return f"user_refresh_families:{user_id}"


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else str(raw)


def session_fields(
    user_id: int,
    *,
    created_at: float,
    expires_at: float,
    device: str,
    ip: str,
    new_device: bool,
    device_id: int | None,
    device_fingerprint: str | None,
    family: str | None = None,
) -> dict[str, str | int | float]:
    """A session's hash as Redis keeps it (`create`, and the refresh families')."""
    return {
        "user_id": user_id,
        "created_at": created_at,
        "expires_at": expires_at,
        "last_seen": time.time(),
        "device": device[:80],
        "ip": ip[:64],
        "new_device": int(new_device),
        "device_id": device_id or 0,
        "device_fingerprint": device_fingerprint or "",
        "family": family or "",
    }


def _session(flat: list[bytes]) -> Session | None:
    if not flat:
        return None
    data = dict(zip(flat[::2], flat[1::2], strict=True))
    return Session(
        int(data[b"user_id"]),
        float(data[b"created_at"]),
        float(data[b"expires_at"]),
        new_device=data.get(b"new_device") == b"1",
        device_id=int(data.get(b"device_id") or 0) or None,
        device_fingerprint=(data.get(b"device_fingerprint") or b"").decode() or None,
    )


def _user_key(user_id: int) -> str:
    return f"user_sessions:{user_id}"


def user_sessions_key(user_id: int) -> str:
    return _user_key(user_id)


def session_id(token: str) -> str:
    return _digest(token)[:16]


class SessionStore:
    def __init__(self, redis: Redis, *, idle_seconds: int, absolute_seconds: int) -> None:
        self._redis = redis
        self._idle = idle_seconds
        self._absolute = absolute_seconds
        self._resolve = redis.register_script(_RESOLVE)
        self._end_family = redis.register_script(END_FAMILY)
        self._mark_trusted = redis.register_script(_MARK_TRUSTED)

    @property
    def idle_seconds(self) -> int:
        return self._idle

    @property
    def absolute_seconds(self) -> int:
        return self._absolute

    async def create(
        self,
        user_id: int,
        *,
        device: str = "",
        ip: str = "",
        new_device: bool = False,
        device_id: int | None = None,
        device_fingerprint: str | None = None,
    ) -> str:
        """Start a session; return the token (shown to the client once, never stored)."""
        token = secrets.token_urlsafe(32)
        now = time.time()
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(
                _key(token),
                mapping=session_fields(
                    user_id,
                    created_at=now,
                    expires_at=now + self._absolute,
                    device=device,
                    ip=ip,
                    new_device=new_device,
                    device_id=device_id,
                    device_fingerprint=device_fingerprint,
                ),
            )
            pipe.expire(_key(token), min(self._idle, self._absolute))
            pipe.sadd(_user_key(user_id), _digest(token))
            pipe.expire(_user_key(user_id), self._absolute)
            await pipe.execute()
        return token

    async def sessions_of(self, user_id: int) -> list[SessionInfo]:
        """The user's live sessions, most recently used first (stale ids are dropped)."""
        found: list[SessionInfo] = []
        for raw in await self._redis.smembers(_user_key(user_id)):
            digest = raw.decode() if isinstance(raw, bytes) else str(raw)
            data = await self._redis.hgetall("session:" + digest)
            if not data or float(data[b"expires_at"]) <= time.time():
                await self._redis.srem(_user_key(user_id), digest)
                continue
            found.append(
                SessionInfo(
                    id=digest[:16],
                    device=data.get(b"device", b"").decode(),
                    ip=data.get(b"ip", b"").decode(),
                    created_at=float(data[b"created_at"]),
                    last_seen=float(data.get(b"last_seen", data[b"created_at"])),
                )
            )
        # A mobile session whose access token lapsed is still signed in through its
        # refresh token: it is listed (by its family's id) until the family ends.
        live = {info.id for info in found}
        for raw in await self._redis.smembers(user_families_key(user_id)):
            family = _text(raw)
            data = await self._redis.hgetall(family_key(family))
            if not data or float(data[b"expires_at"]) <= time.time():
                await self._end_family(keys=[family_key(family)], args=[family])
                await self._redis.srem(user_families_key(user_id), family)
                continue
            if _text(data.get(b"access", b""))[:16] in live:
                continue
            found.append(
                SessionInfo(
                    id=family[:16],
                    device=data.get(b"device", b"").decode(),
                    ip=data.get(b"ip", b"").decode(),
                    created_at=float(data[b"created_at"]),
                    last_seen=float(data.get(b"rotated_at", data[b"created_at"])),
                )
            )
        return sorted(found, key=lambda s: -s.last_seen)

    async def end_family(self, family: str) -> bool:
        """End a refresh family: its refresh token and its current access token."""
        return bool(await self._end_family(keys=[family_key(family)], args=[family]))

    async def _end_family_of(self, session_key: str) -> int:
        family = await self._redis.hget(session_key, "family")
        return int(await self.end_family(_text(family))) if family else 0

    async def revoke_id(self, user_id: int, session_id: str) -> bool:
        """End one of the user's sessions by its id; False if it is not theirs."""
        for raw in await self._redis.smembers(_user_key(user_id)):
            digest = raw.decode() if isinstance(raw, bytes) else str(raw)
            if len(session_id) == 16 and digest.startswith(session_id):
                await self._end_family_of("session:" + digest)
                await self._redis.delete("session:" + digest)
                await self._redis.srem(_user_key(user_id), digest)
                return True
        for raw in await self._redis.smembers(user_families_key(user_id)):
            family = _text(raw)
            if len(session_id) == 16 and family.startswith(session_id):
                return await self.end_family(family)
        return False

    async def revoke_others(self, user_id: int, keep_token: str | None) -> int:
        """End every session of the user but `keep_token`'s; how many ended."""
        keep = _digest(keep_token) if keep_token else None
        kept_family = await self._redis.hget("session:" + keep, "family") if keep else None
        ended = 0
        # Families first: once a family is gone no rotation can start a session of it
        # behind the loop below.
        for raw in await self._redis.smembers(user_families_key(user_id)):
            family = _text(raw)
            if kept_family and family == _text(kept_family):
                continue
            ended += int(await self.end_family(family))
        for raw in await self._redis.smembers(_user_key(user_id)):
            digest = raw.decode() if isinstance(raw, bytes) else str(raw)
            if digest == keep:
                continue
            ended += int(await self._redis.delete("session:" + digest))
            await self._redis.srem(_user_key(user_id), digest)
        return ended

    async def resolve(self, token: str) -> Session | None:
        """The live session for `token`, sliding its idle timeout; None if gone."""
        if not token or len(token) > 256:
            return None
        flat = await self._resolve(keys=[_key(token)], args=[str(time.time()), self._idle])
        return _session(flat)

    async def resolve_with(self, token: str, also: HashRead[T]) -> tuple[Session | None, T]:
        """`resolve`, and `also` read in the same round trip (parsed from no fields when
        the session is gone)."""
        if not token or len(token) > 256:
            return None, also.parse({})
        flat, other = await self._resolve(
            keys=[_key(token), also.key], args=[str(time.time()), self._idle]
        )
        session = _session(flat)
        fields = dict(zip(other[::2], other[1::2], strict=True)) if session else {}
        return session, also.parse(fields)

    async def revoke(self, token: str) -> None:
        """End the session, and its refresh family if it has one."""
        await self._end_family_of(_key(token))
        await self._redis.delete(_key(token))

    async def mark_trusted(self, token: str) -> None:
        """The session's device is trusted now: it is no longer a new-device session."""
        await self._mark_trusted(keys=[_key(token)])
