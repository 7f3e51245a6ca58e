"""A per-user rate limit on money commands (Redis fixed window, one atomic round trip)."""

from __future__ import annotations

from wallet.api.graphql.context import Info
from wallet.api.graphql.errors import ErrorCode, RateLimited
from wallet.auth.ratelimit import RateLimited as RateLimitHit


async def money_throttle(info: Info, user_id: int) -> RateLimited | None:
    """`RateLimited` once the user made more money commands this minute than allowed."""
    services = info.context.services
    limit = services.limits.money_per_user
    try:
        await services.rate_limiter.consume(limit, str(user_id))
    except RateLimitHit as exc:
        return RateLimited(
            code=ErrorCode.RATE_LIMITED,
            retry_after_seconds=exc.retry_after_seconds,
            message="Too many payments in a short time. Wait a minute and try again.",
        )
    return None
