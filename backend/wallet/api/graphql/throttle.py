"""A per-user rate limit on money commands (Redis fixed window, one round trip)."""

from __future__ import annotations

from wallet.api.graphql.context import Info
from wallet.api.graphql.errors import ErrorCode, RateLimited


async def money_throttle(info: Info, user_id: int) -> RateLimited | None:
    """`RateLimited` once the user made more money commands this minute than allowed."""
    services = info.context.services
    limit = services.limits.money_per_user
    count = await services.rate_limiter.hit(limit, str(user_id))
    if count <= limit.max_events:
        return None
    return RateLimited(
        code=ErrorCode.RATE_LIMITED,
        retry_after_seconds=limit.window_seconds,
        message="Too many payments in a short time. Wait a minute and try again.",
    )
