"""Which email and SMS adapters the settings choose, for the API and the worker alike."""

from __future__ import annotations

from redis.asyncio import Redis

from wallet.config import SMTP, Settings
from wallet.notifications.email import EmailProvider, SandboxEmailProvider
from wallet.notifications.sms import SandboxSmsProvider, SmsProvider
from wallet.notifications.smtp import SmtpEmailProvider, SmtpServer


def email_provider(settings: Settings, redis: Redis) -> EmailProvider:
    if settings.providers.email == SMTP:
        return SmtpEmailProvider(SmtpServer.from_settings(settings))
    return SandboxEmailProvider(redis)


def sms_provider(settings: Settings, redis: Redis) -> SmsProvider:
    # Only the sandbox exists; in development its texts show on the Inbox page.
    return SandboxSmsProvider(redis)
