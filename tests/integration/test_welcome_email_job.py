"""The welcome-email job: re-reads by id, sends once, records bounces."""

from redis.asyncio import Redis

from tests.factories import make_user
from wallet.db.engine import connection
from wallet.notifications.email import SandboxEmailProvider
from wallet.users.welcome import send_welcome_email


async def _signup_event(user_id: int) -> int:
    async with connection() as conn:
        return int(
            await conn.fetchval(
                "SELECT id FROM outbox_event WHERE topic = 'user.signed_up' "
                "AND (payload->>'user_id')::bigint = $1",
                user_id,
            )
        )


async def test_running_the_job_twice_sends_one_email(database_url: str, redis: Redis) -> None:
    user = await make_user()
    email = SandboxEmailProvider(redis)
    event_id = await _signup_event(user.id)
    assert await send_welcome_email(event_id, email=email, redis=redis) == "sent"
    assert await send_welcome_email(event_id, email=email, redis=redis) == "duplicate"
    (sent,) = await email.sent_to(user.email)
    assert sent["subject"] == "Welcome to Wallet"
    assert user.username in str(sent["body"])


async def test_undeliverable_address_is_recorded_as_rejected(
    database_url: str, redis: Redis
) -> None:
    user = await make_user(email="someone@bounce.example.com")
    email = SandboxEmailProvider(redis)
    event_id = await _signup_event(user.id)
    assert await send_welcome_email(event_id, email=email, redis=redis) == "rejected"
    assert await email.sent_to(user.email) == []
    assert await redis.get(f"notification:welcome:{event_id}") == b"rejected"
