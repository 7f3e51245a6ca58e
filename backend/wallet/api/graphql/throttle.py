"""Per-user rate limits on money commands and on addressing people by email or phone
(Redis fixed windows, one atomic round trip each)."""

from __future__ import annotations

from wallet.api.graphql.context import Info
from wallet.api.graphql.errors import ErrorCode, RateLimited
from wallet.auth.ratelimit import RateLimited as RateLimitHit
from wallet.transfers.errors import TransferError
from wallet.transfers.service import recipient_lookup


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


def _by_contact(text: str) -> bool:
    try:
        column, _ = recipient_lookup(text)
    except TransferError:
        return False  # the command itself will refuse it
    return column != "username"


async def contact_throttle(info: Info, user_id: int, addressed: list[str]) -> RateLimited | None:
    """`RateLimited` once the user addressed more emails and phones today than allowed.

    Each may reach someone with no wallet (an invite by email or SMS), so the count is
    what keeps the app from being a free spam relay. Registered contacts count the same,
    or the limit itself would tell who is registered."""
    services = info.context.services
    contacts = [a for a in addressed if _by_contact(a)]
    try:
        for _ in contacts:
            await services.rate_limiter.consume(services.limits.contact_invites, str(user_id))
    except RateLimitHit as exc:
        return RateLimited(
            code=ErrorCode.RATE_LIMITED,
            retry_after_seconds=exc.retry_after_seconds,
            message="You have asked or invited many people by email or phone today. "
            "Try again later, or use their @username.",
        )
    return None
