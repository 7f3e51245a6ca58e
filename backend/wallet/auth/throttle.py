"""Sign-in throttling: progressive delays per account, a fixed window per client IP.

Failures are counted per account (whichever identifier the person typed), not per
identifier string, so five wrong guesses with the username, five with the email and
five with the phone are fifteen against the same account. After the free failures,
each further attempt must wait: 1 s, 2 s, 4 s … up to the window, doubling with every
failure. Every attempt takes its turn atomically *before* the password is checked
(one Lua script), so simultaneous guesses cannot all slip through.

There is no hard lock that an attacker could hold shut: the right password from a
device the account already trusts, or with a code sent to the verified email or phone,
is counted on its own key and still gets in (docs/security.md, "Sign-in throttling").
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from redis.asyncio import Redis

from wallet.auth.ratelimit import Limit, RateLimited, RateLimiter

# KEYS[1] the subject's hash {failures, gate}; ARGV: now, free failures, max delay, TTL.
# Refuses (returning the wait) while the gate is shut; otherwise counts this attempt as a
# failure up front, shuts the gate for the next one once past the free failures, and
# lets it through ({1, 0}). A success clears the key (`succeeded`).
_ATTEMPT = """
local now = tonumber(ARGV[1])
local free = tonumber(ARGV[2])
local failures = tonumber(redis.call('HGET', KEYS[1], 'failures') or '0')
local gate = tonumber(redis.call('HGET', KEYS[1], 'gate') or '0')
if now < gate then
  return {0, math.ceil(gate - now)}
end
failures = failures + 1
redis.call('HSET', KEYS[1], 'failures', failures)
if failures >= free then
  local delay = math.min(2 ^ (failures - free), tonumber(ARGV[3]))
  redis.call('HSET', KEYS[1], 'gate', now + delay)
end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
return {1, 0}
"""


@dataclass(frozen=True, slots=True)
class LoginLimits:
    free_failures: int
    window_seconds: int
    per_ip: Limit


class LoginThrottle:
    def __init__(self, redis: Redis, limiter: RateLimiter, limits: LoginLimits) -> None:
        self._redis = redis
        self._limiter = limiter
        self._limits = limits
        self._attempt = redis.register_script(_ATTEMPT)

    @staticmethod
    def _key(subject: str) -> str:
        return f"login-throttle:{subject}"

    async def attempt(self, subject: str, ip: str) -> None:
        """Take this attempt's turn for `subject` (an account, or a trusted device of it)
        and for the client IP; raise `RateLimited` with the wait if it must wait."""
        await self._limiter.consume(self._limits.per_ip, ip)
        allowed, wait = await self._attempt(
            keys=[self._key(subject)],
            args=[
                time.time(),
                self._limits.free_failures,
                self._limits.window_seconds,
                self._limits.window_seconds,
            ],
        )
        if not int(allowed):
            await self._limiter.refund(self._limits.per_ip, ip)
            raise RateLimited(self._limits.per_ip, max(int(wait), 1))

    async def succeeded(self, subject: str, ip: str) -> None:
        """The attempt was right: it does not count, and the account's delays reset."""
        await self._redis.delete(self._key(subject))
        await self._limiter.refund(self._limits.per_ip, ip)

    async def clear(self, subject: str) -> None:
        """Reset `subject`'s delays (its owner got in another way)."""
        await self._redis.delete(self._key(subject))
