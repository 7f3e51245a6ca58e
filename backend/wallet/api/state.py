"""The long-lived services the API hands to resolvers (built in the app's lifespan)."""

from __future__ import annotations

from dataclasses import dataclass, field

from redis.asyncio import Redis

from wallet.api.clientip import TrustedProxies
from wallet.auth.ratelimit import Limit, RateLimiter
from wallet.auth.refresh import RefreshTokens
from wallet.auth.sessions import SessionStore
from wallet.auth.throttle import LoginLimits, LoginThrottle
from wallet.config import Settings
from wallet.fx.service import FxDesk, FxTerms
from wallet.gateway.sandbox import SandboxGateway
from wallet.kyc.identity import IdentityProvider, SandboxIdentityProvider
from wallet.ledger.models import Balance
from wallet.money import Currency
from wallet.notifications import providers
from wallet.notifications.email import EmailProvider
from wallet.notifications.sms import SmsProvider
from wallet.rates import provider_from_config
from wallet.realtime.channels import Channels
from wallet.realtime.hub import Hub
from wallet.realtime.shared import SharedReads
from wallet.rewards.referrals import ReferralRule
from wallet.security.passkeys import RelyingParty, relying_party_for
from wallet.security.stepup import StepUpStore


@dataclass(frozen=True)
class Limits:
    login_per_ip: Limit
    login_codes_per_ip: Limit
    signup_per_ip: Limit
    money_per_user: Limit
    login: LoginLimits
    contact_invites: Limit

    @classmethod
    def from_settings(cls, s: Settings) -> Limits:
        per_ip = Limit(
            "login:ip", s.throttle.login_failures_per_ip, s.throttle.login_window_seconds
        )
        return cls(
            login_per_ip=per_ip,
            login_codes_per_ip=Limit("login-code:ip", 10, 3600),
            login=LoginLimits(
                s.throttle.login_failures_per_account, s.throttle.login_window_seconds, per_ip
            ),
            signup_per_ip=Limit(
                "signup:ip", s.throttle.signups_per_ip, s.throttle.signup_window_seconds
            ),
            money_per_user=Limit("money:user", s.throttle.money_mutations_per_minute, 60),
            contact_invites=Limit(
                "contact:invites", s.throttle.contact_invites_per_day, 24 * 60 * 60
            ),
        )


@dataclass(frozen=True)
class Services:
    settings: Settings
    redis: Redis
    sessions: SessionStore
    refresh_tokens: RefreshTokens
    rate_limiter: RateLimiter
    limits: Limits
    login_throttle: LoginThrottle
    gateway: SandboxGateway
    fx: FxDesk
    step_up: StepUpStore
    email: EmailProvider
    sms: SmsProvider
    proxies: TrustedProxies
    hub: Hub  # this process's one pub/sub connection, fanned out to subscriptions
    channels: Channels
    identity: IdentityProvider = field(default_factory=SandboxIdentityProvider)
    # One balance read per event for all of a user's listeners on this process.
    balance_reads: SharedReads[tuple[int, Currency, int], Balance | None] = field(
        default_factory=SharedReads
    )

    @property
    def referral_rule(self) -> ReferralRule:
        return ReferralRule.from_settings(self.settings)

    def relying_party(self, request_origin: str | None) -> RelyingParty:
        """The passkeys' relying party for a page at `request_origin`, or
        `WrongHostForPasskeys` saying where passkeys do work."""
        s = self.settings
        return relying_party_for(
            request_origin,
            configured_id=s.auth.webauthn_rp_id,
            name=s.auth.webauthn_rp_name,
            origins=s.auth.webauthn_origins,
            follow_host=not s.is_production,
        )

    @classmethod
    def build(cls, settings: Settings, redis: Redis) -> Services:
        limiter, limits = RateLimiter(redis), Limits.from_settings(settings)
        sessions = SessionStore(
            redis,
            idle_seconds=settings.auth.session_idle_seconds,
            absolute_seconds=settings.auth.session_absolute_seconds,
        )
        return cls(
            settings=settings,
            redis=redis,
            sessions=sessions,
            refresh_tokens=RefreshTokens(
                redis,
                sessions,
                access_seconds=settings.auth.bearer_access_seconds,
                refresh_seconds=settings.auth.refresh_token_seconds,
                family_seconds=settings.auth.refresh_family_max_seconds,
            ),
            rate_limiter=limiter,
            limits=limits,
            login_throttle=LoginThrottle(redis, limiter, limits.login),
            gateway=SandboxGateway(
                redis,
                day_seconds=settings.sandbox.day_seconds,
                slow_seconds=settings.sandbox.slow_seconds,
            ),
            step_up=StepUpStore(redis, settings.step_up.seconds),
            email=providers.email_provider(settings, redis),
            sms=providers.sms_provider(settings, redis),
            proxies=TrustedProxies.parse(settings.trusted_proxies),
            hub=Hub(redis),
            channels=Channels(settings.channel_namespace),
            fx=FxDesk(
                provider_from_config(settings.fx.provider, settings.fx.feed_url),
                FxTerms(
                    spread_bps=settings.fx.spread_bps,
                    fee_bps=settings.fx.fee_bps,
                    quote_seconds=settings.fx.quote_seconds,
                    max_rate_age_seconds=settings.fx.max_rate_age_seconds,
                ),
            ),
        )
