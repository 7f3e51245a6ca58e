"""Which email, SMS and push adapters the settings choose, for the API and the worker alike."""

from __future__ import annotations

from redis.asyncio import Redis

from wallet.config import SMTP, WEBPUSH, Settings
from wallet.notifications.email import EmailProvider, SandboxEmailProvider
from wallet.notifications.push import PushProvider, SandboxPushProvider, WebPushProvider
from wallet.notifications.sms import SandboxSmsProvider, SmsProvider
from wallet.notifications.smtp import SmtpEmailProvider, SmtpServer
from wallet.security.egress import EgressPolicy, GuardedClient


def email_provider(settings: Settings, redis: Redis) -> EmailProvider:
    if settings.providers.email == SMTP:
        return SmtpEmailProvider(SmtpServer.from_settings(settings))
    return SandboxEmailProvider(redis)


def sms_provider(settings: Settings, redis: Redis) -> SmsProvider:
    # Only the sandbox exists; in development its texts show on the Inbox page.
    return SandboxSmsProvider(redis)


def push_egress_policy(settings: Settings) -> EgressPolicy:
    """Push endpoints come from browsers, that is from users: public addresses only, and
    https in production (every real push service is)."""
    return EgressPolicy(
        allow_private=settings.notifications.push_allow_private_endpoints,
        require_https=settings.is_production,
    )


def push_provider(settings: Settings, redis: Redis, client: GuardedClient) -> PushProvider:
    """`client`: the SSRF-guarded HTTP client the worker owns (and closes)."""
    if settings.providers.push == WEBPUSH:
        mail = settings.notifications
        return WebPushProvider(
            client,
            private_key=mail.vapid_private_key,
            subject=mail.vapid_subject,
            ttl_seconds=mail.push_ttl_seconds,
        )
    return SandboxPushProvider(redis)
