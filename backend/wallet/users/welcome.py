"""The welcome email of a new account: a job that re-reads the sign-up by its event id,
sends once, and records the outcome."""

from __future__ import annotations

import structlog
from redis.asyncio import Redis

from wallet.notifications.email import EmailMessage, EmailProvider, EmailRejected
from wallet.notifications.money import event_payload
from wallet.users.service import get_user

log = structlog.get_logger(__name__)

SENT_MARK_SECONDS = 7 * 24 * 3600


async def send_welcome_email(event_id: int, *, email: EmailProvider, redis: Redis) -> str:
    """Send the welcome email for a `user.signed_up` event; safe to run twice."""
    mark = f"notification:welcome:{event_id}"
    # Claim the send; a second run of the same event finds the mark and does nothing.
    if not await redis.set(mark, "sending", nx=True, ex=SENT_MARK_SECONDS):
        return "duplicate"
    payload = await event_payload(event_id)
    user = await get_user(payload["user_id"]) if payload else None
    if user is None:
        return "no_user"
    try:
        message_id = await email.send(
            EmailMessage(
                to=user.email,
                subject="Welcome to Wallet",
                body=f"Hi {user.username}, your wallet is ready. Add money to get started.",
            )
        )
    except EmailRejected as exc:
        log.warning("notification.email_rejected", event_id=event_id, reason=exc.reason)
        await redis.set(mark, "rejected", ex=SENT_MARK_SECONDS)
        return "rejected"
    except Exception:
        await redis.delete(mark)  # let arq's retry try again
        raise
    await redis.set(mark, message_id, ex=SENT_MARK_SECONDS)
    return "sent"
