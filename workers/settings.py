"""arq worker: notification jobs plus the outbox relay running beside them.

Run with `arq workers.settings.WorkerSettings` (the dev launcher does this).
Jobs take ids and call domain services; they are safe to run twice.
"""

from __future__ import annotations

import asyncio
from typing import Any

from arq.connections import RedisSettings
from redis.asyncio import Redis

from wallet.config import Settings
from wallet.db import engine
from wallet.log import configure_logging
from wallet.notifications import service as notifications
from wallet.notifications.email import SandboxEmailProvider
from wallet.outbox.relay import OutboxRelay

SETTINGS = Settings.from_env()


async def startup(ctx: dict[str, Any]) -> None:
    configure_logging()
    database_url, redis_url = SETTINGS.require_urls()
    await engine.connect(database_url, pool_size=5)
    ctx["app_redis"] = Redis.from_url(redis_url)
    ctx["email"] = SandboxEmailProvider(ctx["app_redis"])
    ctx["relay_stop"] = asyncio.Event()
    relay = OutboxRelay(publisher=ctx["app_redis"], jobs=ctx["redis"])
    ctx["relay_task"] = asyncio.create_task(relay.run(ctx["relay_stop"]))


async def shutdown(ctx: dict[str, Any]) -> None:
    ctx["relay_stop"].set()
    await ctx["relay_task"]
    await ctx["app_redis"].aclose()
    await engine.disconnect()


async def send_welcome_email(ctx: dict[str, Any], event_id: int) -> str:
    return await notifications.send_welcome_email(
        event_id, email=ctx["email"], redis=ctx["app_redis"]
    )


def _redis_settings() -> RedisSettings:
    return RedisSettings.from_dsn(SETTINGS.redis_url or "redis://127.0.0.1:6379/0")


class WorkerSettings:
    functions = [send_welcome_email]  # noqa: RUF012 (arq reads class attributes)
    on_startup = startup
    on_shutdown = shutdown
    redis_settings = _redis_settings()
    max_tries = 5
    keep_result = 3600
