"""Settings read once from the environment, typed and grouped by domain.

Every knob the service has is here, with its default and the variable it is read from
(each field's `validation_alias`), so the README's configuration table and the code cannot
drift apart silently (tests/unit/test_config.py and test_contract.py check). Nothing else
reads the environment for configuration; services get their group from `Settings`.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal, Self
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationError,
    field_validator,
)
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from wallet.money import Currency, Money

REPO_ROOT = Path(__file__).resolve().parents[2]
# The sandbox gateway's well-known callback key; production refuses to start with it.
SANDBOX_WEBHOOK_SECRET = "sandbox-webhook-secret"  # noqa: S105
# The field-encryption key development runs with; production refuses it.
DEVELOPMENT_PII_KEY = b"wallet-development-key-32-bytes!"
SANDBOX = "sandbox"
SMTP = "smtp"
WEBPUSH = "webpush"
# How the SMTP provider secures its connection: `tls` from the first byte (port 465),
# `starttls` (port 587), or `none` (the development sink on loopback only).
SMTP_TLS_MODES = ("tls", "starttls", "none")
# The providers that exist; a real adapter adds its name here (README, "Providers").
PROVIDERS: dict[str, tuple[str, ...]] = {
    "gateway": (SANDBOX,),
    "email": (SANDBOX, SMTP),
    "sms": (SANDBOX,),
    "identity": (SANDBOX,),
    "push": (SANDBOX, WEBPUSH),
}
SESSION_COOKIE = "wallet_session"
# Over HTTPS the cookie takes the __Host- prefix: the browser then insists on Secure,
# Path=/ and no Domain, so no sibling host can set or shadow it.
SECURE_SESSION_COOKIE = "__Host-wallet_session"
MIN_SECRET_CHARS = 32
MIN_SECRET_BITS = 128.0
# The audit chain's development HMAC key; production must refuse it (docs/security.md).
DEVELOPMENT_AUDIT_KEY = "development-audit-key-not-secret"
# The bearer token /metrics takes in development; production refuses it.
DEVELOPMENT_METRICS_TOKEN = "development-metrics-token"  # noqa: S105
# The VAPID key (raw P-256 private scalar, base64url) that development and tests sign
# Web Push with; public in this repository, so production refuses it.
DEVELOPMENT_VAPID_PRIVATE_KEY = "joYnJfZZuFhteDaqlUNA4xKYBqcN58FPtrKOvmab0NE"
# The sandbox tokeniser's publishable key: public by design (it only makes tokens).
SANDBOX_PUBLISHABLE_KEY = "pk_sandbox_wallet"
# Referral defaults (docs/rewards.md, "Referrals").
REFERRER_BONUS = Money(1_000, Currency.USD)
REFERRED_BONUS = Money(500, Currency.USD)
REFERRAL_MINIMUM = Money(1_000, Currency.USD)


def estimated_bits(secret: str) -> float:
    """A generous upper bound of a secret's entropy: its length times the Shannon
    entropy of its own characters (a repeated or tiny alphabet scores low)."""
    if not secret:
        return 0.0
    counts = Counter(secret)
    per_char = -sum(c / len(secret) * math.log2(c / len(secret)) for c in counts.values())
    return per_char * len(secret)


def weak_secret(secret: str | None) -> str | None:
    """Why `secret` is not fit for production, or None."""
    if not secret:
        return "is empty"
    if len(secret) < MIN_SECRET_CHARS:
        return f"is shorter than {MIN_SECRET_CHARS} characters"
    if estimated_bits(secret) < MIN_SECRET_BITS:
        return "has too little randomness (use e.g. `openssl rand -hex 32`)"
    return None


def weak_key(raw: bytes) -> str | None:
    """Why a 32-byte encryption key is not fit for production, or None."""
    if raw == DEVELOPMENT_PII_KEY:
        return "is the development key"
    if len(set(raw)) < 16:  # 32 random bytes have ~28 distinct values
        return "is not random (too few distinct bytes)"
    return None


def vapid_key_problem(encoded: str) -> str | None:
    """Why a VAPID private key (a raw P-256 scalar, base64url) cannot be used, or None."""
    try:
        raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    except (binascii.Error, ValueError):
        return "is not base64url"
    if len(raw) != 32:
        return "is not a raw 32-byte P-256 private key"
    # The scalar must lie in [1, n-1] for P-256's group order n.
    if not 0 < int.from_bytes(raw, "big") < _P256_ORDER:
        return "is not a valid P-256 private key"
    return None


_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
INVALID_PREFIX = "refusing to start: "
# Secrets never appear in an error message, even when their value is refused.
_SECRET_WORDS = ("KEY", "SECRET", "PASSWORD", "TOKEN")


class InvalidSettings(RuntimeError):
    """A variable the process cannot run with: each problem names its variable."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(INVALID_PREFIX + "; ".join(problems))
        self.problems = problems


def describe_error(error: ErrorDetails) -> str:
    """One validation error as `VARIABLE: what is wrong (got 'value')`."""
    where = " ".join(str(part) for part in error["loc"]) or "settings"
    message = error["msg"].removeprefix("Value error, ")
    value = error.get("input")
    if isinstance(value, str) and not any(w in where.upper() for w in _SECRET_WORDS):
        message += f" (got {value[:60]!r})"
    return f"{where}: {message}"


# --- Value types parsed from the environment --------------------------------------------


def _split(value: Any) -> Any:
    """A comma-separated list ("a, b,") as a tuple; empty parts are dropped."""
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def _money_parser(currency: Currency, *, only: bool) -> Callable[[Any], Money]:
    """Parse "12.50 EUR", or a bare amount "12.50" / 12 in `currency` (major units, as
    people write it). With `only`, any other currency is refused."""

    def parse(value: Any) -> Money:
        if isinstance(value, Money):
            amount = value
        elif isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError("is not an amount such as 10.00 or 10.00 USD")
        else:
            parts = str(value).split()
            if not 1 <= len(parts) <= 2:
                raise ValueError("is not an amount such as 10.00 or 10.00 USD")
            amount = Money.parse(parts[0], parts[1] if len(parts) > 1 else currency)
        if only and amount.currency is not currency:
            raise ValueError(f"is valued in {currency.value}, not {amount.currency.value}")
        return amount

    return parse


# An amount with its currency ("10.00 EUR"); a bare amount is in US dollars.
Amount = Annotated[Money, NoDecode, PlainValidator(_money_parser(Currency.USD, only=False))]
# A threshold valued in US dollars (limits, AML, step-up): "1000" is $1,000.00.
UsdAmount = Annotated[Money, NoDecode, PlainValidator(_money_parser(Currency.USD, only=True))]
CommaList = Annotated[tuple[str, ...], NoDecode, BeforeValidator(_split)]


def _usd(major: int) -> Money:
    return Money(major * 10**Currency.USD.exponent, Currency.USD)


# --- Limits by verification level (docs/limits.md) -----------------------------------------

# The kinds of movement a level's limits apply to (wallet.limits.LimitScope values).
LIMIT_SCOPES = ("SEND", "ADD", "WITHDRAW", "MERCHANT")
_PERIODS = ("per_transaction", "daily", "monthly")


@dataclass(frozen=True, slots=True)
class PeriodLimits:
    """The most one kind of movement may move at once, per UTC day and per UTC month."""

    per_transaction: Money
    daily: Money
    monthly: Money


@dataclass(frozen=True, slots=True)
class LevelLimits:
    # Keyed by scope name (LIMIT_SCOPES).
    by_scope: dict[str, PeriodLimits]
    # The most the user's wallet balances may add up to (USD); None: no cap.
    balance_cap: Money | None


def _level(per_transaction: int, daily: int, monthly: int, balance_cap: int | None) -> LevelLimits:
    """The same limits (whole US dollars) for every kind of movement."""
    limits = PeriodLimits(_usd(per_transaction), _usd(daily), _usd(monthly))
    cap = None if balance_cap is None else _usd(balance_cap)
    return LevelLimits(dict.fromkeys(LIMIT_SCOPES, limits), cap)


DEFAULT_POLICY: dict[str, LevelLimits] = {
    "unverified": _level(1_000, 2_500, 5_000, balance_cap=10_000),
    "basic": _level(5_000, 10_000, 30_000, balance_cap=50_000),
    "full": _level(25_000, 50_000, 200_000, balance_cap=None),
    "premium": _level(100_000, 250_000, 1_000_000, balance_cap=None),
}
_usd_limit = _money_parser(Currency.USD, only=True)


def parse_policy(document: str) -> dict[str, LevelLimits]:
    """Overrides over the defaults, as JSON in US dollars: {"basic": {"send": {"daily":
    8000}, "balance_cap": 20000}, "full": {"balance_cap": null}}. Unknown names are errors."""
    data = _json_document(document)
    if not isinstance(data, dict):
        raise ValueError("is not a JSON object of verification levels")
    policy = dict(DEFAULT_POLICY)
    for level, overrides in data.items():
        if level not in policy:
            raise ValueError(f"unknown verification level {level!r}")
        if not isinstance(overrides, dict):
            raise ValueError(f"{level} is not a JSON object")
        base = policy[level]
        by_scope = dict(base.by_scope)
        cap = base.balance_cap
        for name, value in overrides.items():
            if name == "balance_cap":
                cap = None if value is None else _usd_limit(value)
                continue
            scope = name.upper()
            if scope not in by_scope or not isinstance(value, dict):
                raise ValueError(f"unknown kind of movement {name!r} for {level}")
            unknown = set(value) - set(_PERIODS)
            if unknown:
                raise ValueError(f"unknown limit {sorted(unknown)} for {level}.{name}")
            current = by_scope[scope]
            by_scope[scope] = PeriodLimits(
                **{k: _usd_limit(value[k]) if k in value else getattr(current, k) for k in _PERIODS}
            )
        policy[level] = LevelLimits(by_scope, cap)
    return policy


def _policy(value: Any) -> dict[str, LevelLimits]:
    if isinstance(value, str):
        return parse_policy(value)
    if isinstance(value, dict) and all(isinstance(v, LevelLimits) for v in value.values()):
        return value
    raise ValueError("is not a JSON object of verification levels")


LimitPolicy = Annotated[dict[str, LevelLimits], NoDecode, PlainValidator(_policy)]


# --- Groups --------------------------------------------------------------------------------

_CONFIG = SettingsConfigDict(
    frozen=True,
    # Every field names its variable (validation_alias); Python code may use the name.
    validate_by_name=True,
    validate_by_alias=True,
    case_sensitive=True,
    # An empty variable means "not set": the default applies, as it always has.
    env_ignore_empty=True,
    extra="ignore",
)


class _Group(BaseSettings):
    """Settings read from the environment, immutable once read."""

    model_config = _CONFIG

    def replace(self, **changes: Any) -> Self:
        """A copy with `changes` (tests and the launcher; values are not re-parsed). A
        group may be given as a dict of its own changes: `replace(gateway={"timeout_seconds":
        1})` keeps the group's other settings."""
        if unknown := set(changes) - set(type(self).model_fields):
            raise TypeError(f"{type(self).__name__} has no setting {sorted(unknown)}")
        for name, value in changes.items():
            group = getattr(self, name)
            if isinstance(group, _Group) and isinstance(value, dict):
                changes[name] = group.replace(**value)
        return self.model_copy(update=changes)


class FxSettings(_Group):
    """Exchange rates and the FX desk's pricing (docs/fx.md)."""

    provider: str = Field(default="sandbox", validation_alias="WALLET_FX_PROVIDER")
    feed_url: str | None = Field(default=None, validation_alias="WALLET_FX_FEED_URL")
    max_rate_age_seconds: int = Field(
        default=600, validation_alias="WALLET_FX_MAX_RATE_AGE_SECONDS"
    )
    spread_bps: int = Field(default=35, ge=0, validation_alias="WALLET_FX_SPREAD_BPS")
    fee_bps: int = Field(default=25, ge=0, validation_alias="WALLET_FX_FEE_BPS")
    quote_seconds: int = Field(default=30, gt=0, validation_alias="WALLET_FX_QUOTE_SECONDS")


class LimitsSettings(_Group):
    """Limits by verification level, and full verification for large cross-border sends."""

    policy: LimitPolicy = Field(default=DEFAULT_POLICY, validation_alias="WALLET_LIMITS")
    # A cross-currency send worth more than this needs full verification.
    cross_border_full_kyc: UsdAmount = Field(
        default=_usd(1_000), validation_alias="WALLET_CROSS_BORDER_FULL_KYC_USD"
    )


class AmlThresholds(BaseModel):
    """AML monitoring thresholds (docs/security.md, "AML"), set as one JSON document in
    WALLET_AML whose names are the aliases: {"reporting_usd": 10000, "fan_count": 20}."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_by_name=False, strict=True)

    reporting: UsdAmount = Field(default=_usd(3_000), validation_alias="reporting_usd")
    # "Just under": from this share of the threshold up to (not including) it.
    structuring_band: float = Field(default=0.85, gt=0, lt=1)
    structuring_count: int = Field(default=3, gt=0)
    structuring_days: int = Field(default=7, gt=0)
    rapid_min: UsdAmount = Field(default=_usd(1_000), validation_alias="rapid_min_usd")
    rapid_share: float = Field(default=0.9, gt=0)
    rapid_hours: int = Field(default=24, gt=0)
    fan_count: int = Field(default=10, gt=0)
    fan_hours: int = Field(default=24, gt=0)
    sanctions_similarity: float = Field(default=0.88, gt=0)

    @field_validator("reporting", "rapid_min")
    @classmethod
    def _positive(cls, amount: Money) -> Money:
        if not amount.is_positive:
            raise ValueError("must be more than zero")
        return amount

    def replace(self, **changes: Any) -> Self:
        return self.model_copy(update=changes)


def _json_document(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value) if value.strip() else {}
    except json.JSONDecodeError as exc:
        raise ValueError(f"is not a JSON document ({exc.msg})") from None


class AmlSettings(_Group):
    thresholds: Annotated[AmlThresholds, NoDecode, BeforeValidator(_json_document)] = Field(
        default_factory=AmlThresholds, validation_alias="WALLET_AML"
    )


class FraudSettings(_Group):
    """Fraud rules' decisions (docs/security.md, "Fraud rules")."""

    # A payment scoring this much is held for review; this much more is blocked.
    hold_score: int = Field(default=50, gt=0, validation_alias="WALLET_FRAUD_HOLD_SCORE")
    block_score: int = Field(default=100, gt=0, validation_alias="WALLET_FRAUD_BLOCK_SCORE")
    # How long a held payment waits for an operator before it is released or expires.
    hold_days: int = Field(default=7, gt=0, validation_alias="WALLET_FRAUD_HOLD_DAYS")
    # How long a process keeps the rules it read: an operator's change reaches every
    # API process within this time.
    rules_ttl_seconds: float = Field(
        default=5.0, ge=0, validation_alias="WALLET_FRAUD_RULES_TTL_SECONDS"
    )


class TransfersSettings(_Group):
    """Person-to-person transfers (docs/aml.md, "Freezes") and sends to people not yet here."""

    # A freeze stops money leaving; refusing what others send would tip the holder off
    # and bounce other people's payments, so by default a frozen wallet still receives.
    frozen_can_receive: bool = Field(default=True, validation_alias="WALLET_FROZEN_CAN_RECEIVE")
    # The batched write path for sends (wallet.transfers.batch): at most this many sends
    # per database transaction (1: every send alone), and this many batches in flight at
    # once per API process; measured in bench/README.md.
    batch_size: int = Field(default=64, ge=1, validation_alias="WALLET_SEND_BATCH_SIZE")
    batch_flushes: int = Field(default=2, ge=1, validation_alias="WALLET_SEND_BATCH_FLUSHES")
    # Days an unregistered phone or email has to claim money sent to it.
    unclaimed_transfer_days: int = Field(
        default=14, gt=0, validation_alias="WALLET_UNCLAIMED_TRANSFER_DAYS"
    )


class StepUpSettings(_Group):
    """When a session must prove a factor again (docs/security.md, "Step-up")."""

    # How long a proven factor counts.
    seconds: int = Field(default=300, gt=0, validation_alias="WALLET_STEP_UP_SECONDS")
    # Money out worth more than this (in US dollars) needs a fresh factor.
    send_above: UsdAmount = Field(
        default=_usd(500), validation_alias="WALLET_STEP_UP_SEND_ABOVE_USD"
    )


class ReferralSettings(_Group):
    """Referrals (docs/rewards.md): what the one who invited and the one who joined each
    get, once the newcomer is verified and moved at least `minimum` (a first top-up, send
    or payment) within `days` of joining."""

    referrer_bonus: Amount = Field(
        default=REFERRER_BONUS, validation_alias="WALLET_REFERRAL_REFERRER_BONUS"
    )
    referred_bonus: Amount = Field(
        default=REFERRED_BONUS, validation_alias="WALLET_REFERRAL_REFERRED_BONUS"
    )
    minimum: Amount = Field(default=REFERRAL_MINIMUM, validation_alias="WALLET_REFERRAL_MINIMUM")
    days: int = Field(default=30, validation_alias="WALLET_REFERRAL_DAYS")


class _EnvWithoutGroups(EnvSettingsSource):
    """The environment, minus the groups: each group reads its own variables."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        kind = field.annotation
        if isinstance(kind, type) and issubclass(kind, BaseSettings):
            return None, field_name, False
        return super().get_field_value(field, field_name)


def _clamp_protection_days(days: int) -> int:
    return min(max(days, 7), 30)


class AuthSettings(_Group):
    """Sessions, their cookie and passkeys."""

    session_idle_seconds: int = Field(
        default=30 * 60, validation_alias="WALLET_SESSION_IDLE_SECONDS"
    )
    session_absolute_seconds: int = Field(
        default=12 * 60 * 60, validation_alias="WALLET_SESSION_ABSOLUTE_SECONDS"
    )
    # Bearer sessions started with a device proof (the mobile app) come with a refresh
    # token (wallet.auth.refresh): each access token lives this long, and the refresh
    # chain this long after its last rotation (sliding). Cookie sessions ignore both.
    bearer_access_seconds: int = Field(
        default=15 * 60, gt=0, validation_alias="WALLET_BEARER_ACCESS_SECONDS"
    )
    refresh_token_seconds: int = Field(
        default=30 * 24 * 60 * 60, gt=0, validation_alias="WALLET_REFRESH_TOKEN_SECONDS"
    )
    # However often it is renewed, a mobile sign-in ends this long after it began.
    refresh_family_max_seconds: int = Field(
        default=90 * 24 * 60 * 60, gt=0, validation_alias="WALLET_REFRESH_FAMILY_MAX_SECONDS"
    )
    # None: Secure in production, not over plain-HTTP development (`Settings.secure_cookies`).
    cookie_secure: bool | None = Field(default=None, validation_alias="WALLET_COOKIE_SECURE")
    # None: in development the host the page is served from, else "localhost".
    webauthn_rp_id: str | None = Field(default=None, validation_alias="WALLET_WEBAUTHN_RP_ID")
    webauthn_rp_name: str = Field(default="Wallet", validation_alias="WALLET_WEBAUTHN_RP_NAME")
    webauthn_origins: CommaList = Field(default=(), validation_alias="WALLET_WEBAUTHN_ORIGINS")


class ThrottleSettings(_Group):
    """Rate limits against guessing and abuse."""

    login_failures_per_account: int = Field(
        default=5, validation_alias="WALLET_LOGIN_FAILURES_PER_ACCOUNT"
    )
    login_failures_per_ip: int = Field(default=20, validation_alias="WALLET_LOGIN_FAILURES_PER_IP")
    login_window_seconds: int = Field(
        default=15 * 60, validation_alias="WALLET_LOGIN_WINDOW_SECONDS"
    )
    signups_per_ip: int = Field(default=20, validation_alias="WALLET_SIGNUPS_PER_IP")
    signup_window_seconds: int = Field(
        default=60 * 60, validation_alias="WALLET_SIGNUP_WINDOW_SECONDS"
    )
    money_mutations_per_minute: int = Field(
        default=300, validation_alias="WALLET_MONEY_MUTATIONS_PER_MINUTE"
    )
    # Requests and split-group invitations one user may address to emails or phones per
    # day: each may send an email or SMS to someone who never signed up.
    contact_invites_per_day: int = Field(
        default=20, validation_alias="WALLET_CONTACT_INVITES_PER_DAY"
    )


class ProviderSettings(_Group):
    """Which adapter serves each outside provider (README, "Providers")."""

    gateway: str = Field(default=SANDBOX, validation_alias="WALLET_GATEWAY_PROVIDER")
    email: str = Field(default=SANDBOX, validation_alias="WALLET_EMAIL_PROVIDER")
    sms: str = Field(default=SANDBOX, validation_alias="WALLET_SMS_PROVIDER")
    identity: str = Field(default=SANDBOX, validation_alias="WALLET_IDENTITY_PROVIDER")
    # Web Push: `webpush` sends to the browsers' push services, signed with the VAPID key;
    # `sandbox` keeps what it would send in Redis (the dev Inbox) and sends nothing.
    push: str = Field(default=SANDBOX, validation_alias="WALLET_PUSH_PROVIDER")
    # A staging deployment may run production settings on the sandboxes, if it says so.
    allow_sandbox: bool = Field(default=False, validation_alias="WALLET_ALLOW_SANDBOX_PROVIDERS")


class GatewaySettings(_Group):
    """The payment gateway: its callbacks and client-side tokenisation."""

    webhook_secret: str = Field(
        default=SANDBOX_WEBHOOK_SECRET, validation_alias="WALLET_GATEWAY_WEBHOOK_SECRET", repr=False
    )
    # Client-side tokenisation (docs/security.md, "Payment details and PCI scope"): the
    # web app posts card and bank details here, never to the API.
    tokenize_url: str = Field(
        default="http://127.0.0.1:8001/v1/tokens", validation_alias="WALLET_GATEWAY_TOKENIZE_URL"
    )
    publishable_key: str = Field(
        default=SANDBOX_PUBLISHABLE_KEY, validation_alias="WALLET_GATEWAY_PUBLISHABLE_KEY"
    )
    timeout_seconds: float = Field(
        default=10.0, gt=0, validation_alias="WALLET_GATEWAY_TIMEOUT_SECONDS"
    )
    # The callback endpoint's trail (wallet.payments.callback_trail): refusals per source
    # address and audit rows for all sources together, per window.
    callback_refusals_per_source: int = Field(
        default=20, validation_alias="WALLET_CALLBACK_REFUSALS_PER_SOURCE"
    )
    callback_window_seconds: int = Field(
        default=60, validation_alias="WALLET_CALLBACK_WINDOW_SECONDS"
    )
    callback_audit_rows_per_window: int = Field(
        default=200, validation_alias="WALLET_CALLBACK_AUDIT_ROWS_PER_WINDOW"
    )


class SandboxSettings(_Group):
    """The sandbox gateway and its tokeniser (development and tests)."""

    tokenizer_origins: CommaList = Field(
        default=(), validation_alias="WALLET_SANDBOX_TOKENIZER_ORIGINS"
    )
    day_seconds: float = Field(default=60.0, gt=0, validation_alias="WALLET_SANDBOX_DAY_SECONDS")
    slow_seconds: float = Field(default=30.0, ge=0, validation_alias="WALLET_SANDBOX_SLOW_SECONDS")


class RequestSettings(_Group):
    """Money requests."""

    # How long a money request may last (and lasts unless the requester says).
    money_request_days: int = Field(default=30, gt=0, validation_alias="WALLET_MONEY_REQUEST_DAYS")


class MerchantSettings(_Group):
    """Merchants: buyer protection and their webhooks (docs/security.md, "Merchants")."""

    # Clamped to 7..30 days, as the merchant terms promise.
    buyer_protection_days: Annotated[int, AfterValidator(_clamp_protection_days)] = Field(
        default=14, validation_alias="WALLET_BUYER_PROTECTION_DAYS"
    )
    webhook_retry_base_seconds: float = Field(
        default=30.0, gt=0, validation_alias="WALLET_WEBHOOK_RETRY_BASE_SECONDS"
    )
    # Merchant webhooks to loopback/private addresses: only for tests and a receiver on
    # this machine; the SSRF guard refuses them otherwise (docs/security.md, "Merchants").
    webhook_allow_private_targets: bool = Field(
        default=False, validation_alias="WALLET_WEBHOOK_ALLOW_PRIVATE_TARGETS"
    )


class PrivacySettings(_Group):
    """Personal data: its encryption keys and how long verification records are kept."""

    pii_keys: str | None = Field(default=None, validation_alias="WALLET_PII_KEYS", repr=False)
    # AML record keeping: verification records outlive a closed account this long.
    kyc_retention_days: int = Field(
        default=5 * 365 + 1, validation_alias="WALLET_KYC_RETENTION_DAYS"
    )


class AuditSettings(_Group):
    """The audit chain's key and where its anchors are written (docs/security.md)."""

    key: str = Field(default=DEVELOPMENT_AUDIT_KEY, validation_alias="WALLET_AUDIT_KEY", repr=False)
    # None: "audit-anchors" under the data folder (`Settings.audit_anchor_dir`).
    anchor_dir: Path | None = Field(default=None, validation_alias="WALLET_AUDIT_ANCHOR_DIR")

    @property
    def key_bytes(self) -> bytes:
        return self.key.encode()


class MetricsSettings(_Group):
    """Prometheus metrics (wallet.metrics, docs/operations.md)."""

    # The bearer token a scrape of the API's /metrics must present.
    token: str = Field(
        default=DEVELOPMENT_METRICS_TOKEN, validation_alias="WALLET_METRICS_TOKEN", repr=False
    )
    # Where the API's processes write their values (prometheus-client's own variable);
    # None: `wallet serve` uses "metrics" under the data folder.
    multiproc_dir: Path | None = Field(default=None, validation_alias="PROMETHEUS_MULTIPROC_DIR")
    # The worker serves its metrics on a port of its own (0: not at all); loopback
    # unless told (compose: its internal network, never published).
    worker_host: str = Field(default="127.0.0.1", validation_alias="WALLET_METRICS_WORKER_HOST")
    worker_port: int = Field(
        default=9101, ge=0, le=65535, validation_alias="WALLET_METRICS_WORKER_PORT"
    )


class TracingSettings(_Group):
    """OpenTelemetry tracing (wallet.tracing, docs/operations.md, "Tracing"). Off unless
    WALLET_TRACING: no tracer provider, no instrumentation, nothing on the hot path."""

    enabled: bool = Field(default=False, validation_alias="WALLET_TRACING")
    # Where spans go: `otlp`, a collector over HTTP (protobuf), or `console`, JSON on
    # stdout (development).
    exporter: Annotated[Literal["otlp", "console"], BeforeValidator(_lower)] = Field(
        default="otlp", validation_alias="WALLET_TRACING_EXPORTER"
    )
    # The standard OpenTelemetry variables, read here like every other knob. The
    # collector's base URL (spans go to <endpoint>/v1/traces); None: the SDK's default,
    # http://localhost:4318, or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT when that is set.
    otlp_endpoint: str | None = Field(default=None, validation_alias="OTEL_EXPORTER_OTLP_ENDPOINT")
    # None: "wallet-api" for the API's processes, "wallet-worker" for the worker's.
    service_name: str | None = Field(default=None, validation_alias="OTEL_SERVICE_NAME")


class NotificationSettings(_Group):
    """Email over SMTP, and the development Inbox page."""

    email_from: str = Field(
        default="Wallet <no-reply@wallet.localhost>", validation_alias="WALLET_EMAIL_FROM"
    )
    # The SMTP server of WALLET_EMAIL_PROVIDER=smtp. Unset host under `wallet dev`: the
    # development mail sink it starts (docs/architecture.md, "Email in development").
    smtp_host: str | None = Field(default=None, validation_alias="WALLET_SMTP_HOST")
    # None (or 0): 465 for tls, 587 for starttls, 25 for none.
    smtp_port: int | None = Field(default=None, ge=0, validation_alias="WALLET_SMTP_PORT")
    smtp_tls: Annotated[str, BeforeValidator(_lower)] = Field(
        default="starttls", validation_alias="WALLET_SMTP_TLS"
    )
    smtp_username: str | None = Field(default=None, validation_alias="WALLET_SMTP_USERNAME")
    smtp_password: str | None = Field(
        default=None, validation_alias="WALLET_SMTP_PASSWORD", repr=False
    )
    smtp_timeout_seconds: float = Field(
        default=10.0, gt=0, validation_alias="WALLET_SMTP_TIMEOUT_SECONDS"
    )
    # The development Inbox page (emails and texts the app sent); None: on in development
    # only (`Settings.dev_inbox_enabled`). Production refuses it: it shows everyone's
    # one-time codes to anyone.
    dev_inbox: bool | None = Field(default=None, validation_alias="WALLET_DEV_INBOX")
    # Web Push (wallet.notifications.push): the VAPID private key, a raw P-256 scalar in
    # base64url (`wallet keys vapid`, or any web-push library's key pair: its private half);
    # the public key the browser subscribes with is derived from it. Production refuses
    # the development key.
    vapid_private_key: str = Field(
        default=DEVELOPMENT_VAPID_PRIVATE_KEY,
        validation_alias="WALLET_VAPID_PRIVATE_KEY",
        repr=False,
    )
    # Who push services contact about this sender (RFC 8292 `sub`): mailto: or https:.
    vapid_subject: str = Field(
        default="mailto:push@wallet.localhost", validation_alias="WALLET_VAPID_SUBJECT"
    )
    # How long a push service keeps a message for a browser that is offline (seconds).
    push_ttl_seconds: int = Field(
        default=24 * 60 * 60, ge=0, validation_alias="WALLET_PUSH_TTL_SECONDS"
    )
    # A push endpoint on a private or loopback address is refused (SSRF) unless this is on
    # (tests and development only; production refuses it).
    push_allow_private_endpoints: bool = Field(
        default=False, validation_alias="WALLET_PUSH_ALLOW_PRIVATE_ENDPOINTS"
    )

    @property
    def smtp_port_or_default(self) -> int:
        if self.smtp_port:
            return self.smtp_port
        return {"tls": 465, "starttls": 587}.get(self.smtp_tls, 25)


# The settings that stay on `Settings` itself: where the process runs and what it connects
# to. Everything else belongs to a domain group (tests/unit/test_config.py checks).
SERVER_SETTINGS = frozenset(
    {
        "database_url",
        "redis_url",
        "migration_database_url",
        "environment",
        "data_dir",
        "host",
        "port",
        "frontend_dist",
        "db_pool_size",
        "db_pgbouncer",
        "database_replica_urls",
        "replica_max_lag_bytes",
        "allowed_ws_origins",
        "realtime_namespace",
        "trusted_proxies",
    }
)


class Settings(_Group):
    """Runtime configuration. `Settings.from_env()` reads it (or `get_settings()`, the
    process's one reading); each field names its variable in `validation_alias`. The
    server-level knobs are fields of their own; every domain's are in its group."""

    database_url: str | None = Field(default=None, validation_alias="DATABASE_URL")
    redis_url: str | None = Field(default=None, validation_alias="REDIS_URL")
    # The schema owner's URL, for migrations only; the app connects with database_url.
    migration_database_url: str | None = Field(
        default=None, validation_alias="WALLET_MIGRATION_DATABASE_URL"
    )
    environment: str = Field(default="development", validation_alias="WALLET_ENV")
    data_dir: Path = Field(default=REPO_ROOT / ".data", validation_alias="WALLET_DATA_DIR")
    host: str = Field(default="127.0.0.1", validation_alias="WALLET_HOST")
    port: int = Field(default=8000, validation_alias="WALLET_PORT")
    frontend_dist: Path = Field(
        default=REPO_ROOT / "frontend" / "dist", validation_alias="WALLET_FRONTEND_DIST"
    )
    db_pool_size: int = Field(default=10, gt=0, validation_alias="WALLET_DB_POOL_SIZE")
    # DATABASE_URL goes through PgBouncer in transaction mode: no named prepared
    # statements (PgBouncer 1.18, Debian's, cannot keep them across server connections).
    db_pgbouncer: bool = Field(default=False, validation_alias="WALLET_DB_PGBOUNCER")
    # Streaming replicas for read-only queries (wallet.db.replicas), comma-separated.
    database_replica_urls: CommaList = Field(default=(), validation_alias="DATABASE_REPLICA_URLS")
    # A replica further behind the primary than this much WAL leaves the rotation.
    replica_max_lag_bytes: int = Field(
        default=16 * 1024 * 1024, gt=0, validation_alias="WALLET_REPLICA_MAX_LAG_BYTES"
    )
    allowed_ws_origins: CommaList = Field(default=(), validation_alias="WALLET_ALLOWED_WS_ORIGINS")
    # The prefix of this deployment's Redis pub/sub channels (wallet.realtime.channels).
    # Unset: the database's name and the Redis database number, which already tell two
    # deployments on one server apart.
    realtime_namespace: str | None = Field(
        default=None, validation_alias="WALLET_REALTIME_NAMESPACE"
    )
    # Proxies whose X-Forwarded-For is believed (IPs or CIDRs); none by default.
    trusted_proxies: CommaList = Field(default=(), validation_alias="WALLET_TRUSTED_PROXIES")

    # Domain groups: each reads its own variables.
    fx: FxSettings = Field(default_factory=FxSettings)
    limits: LimitsSettings = Field(default_factory=LimitsSettings)
    aml: AmlSettings = Field(default_factory=AmlSettings)
    fraud: FraudSettings = Field(default_factory=FraudSettings)
    transfers: TransfersSettings = Field(default_factory=TransfersSettings)
    step_up: StepUpSettings = Field(default_factory=StepUpSettings)
    referrals: ReferralSettings = Field(default_factory=ReferralSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    throttle: ThrottleSettings = Field(default_factory=ThrottleSettings)
    providers: ProviderSettings = Field(default_factory=ProviderSettings)
    gateway: GatewaySettings = Field(default_factory=GatewaySettings)
    sandbox: SandboxSettings = Field(default_factory=SandboxSettings)
    requests: RequestSettings = Field(default_factory=RequestSettings)
    merchants: MerchantSettings = Field(default_factory=MerchantSettings)
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)
    audit: AuditSettings = Field(default_factory=AuditSettings)
    notifications: NotificationSettings = Field(default_factory=NotificationSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    tracing: TracingSettings = Field(default_factory=TracingSettings)

    @property
    def channel_namespace(self) -> str:
        """The prefix of this deployment's pub/sub channels: `realtime_namespace`, or
        "<database>:<redis database number>"."""
        if self.realtime_namespace:
            return self.realtime_namespace
        database = urlsplit(self.database_url or "").path.strip("/") or "wallet"
        redis_db = urlsplit(self.redis_url or "").path.strip("/") or "0"
        return f"{database}:{redis_db}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Arguments first, then the environment; no .env or secrets files.
        return init_settings, _EnvWithoutGroups(settings_cls)

    @classmethod
    def from_env(cls) -> Settings:
        """Read the environment; a value that cannot be used is an `InvalidSettings`
        naming its variable (the API, the worker and the CLI refuse to start)."""
        problems: list[str] = []
        groups: dict[str, Any] = {}
        # Each group on its own, so that one message lists every wrong variable.
        for name, spec in cls.model_fields.items():
            kind = spec.annotation
            if isinstance(kind, type) and issubclass(kind, _Group):
                try:
                    groups[name] = kind()
                except ValidationError as exc:
                    problems += [describe_error(e) for e in exc.errors()]
                    groups[name] = kind.model_construct()
        try:
            settings = cls(**groups)
        except ValidationError as exc:
            # A derived default is not computed once a value it depends on is wrong.
            problems += [
                describe_error(e) for e in exc.errors() if e["type"] != "default_factory_not_called"
            ]
        if problems:
            raise InvalidSettings(problems)
        return settings

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    def metrics_dir(self, port: int) -> Path:
        """Where the API server on `port` keeps its processes' metric values: one folder
        per server, so servers sharing a data folder never mix or empty each other's."""
        return self.metrics.multiproc_dir or self.data_dir / "metrics" / f"api-{port}"

    @property
    def audit_anchor_dir(self) -> Path:
        return self.audit.anchor_dir or self.data_dir / "audit-anchors"

    @property
    def dev_inbox_enabled(self) -> bool:
        inbox = self.notifications.dev_inbox
        if inbox is None:
            return self.environment == "development"
        return inbox and not self.is_production

    @property
    def secure_cookies(self) -> bool:
        chosen = self.auth.cookie_secure
        return self.is_production if chosen is None else chosen

    @property
    def session_cookie(self) -> str:
        return SECURE_SESSION_COOKIE if self.secure_cookies else SESSION_COOKIE

    def problems(self) -> list[str]:
        """What is wrong with these settings in any environment."""
        found = []
        for kind, known in PROVIDERS.items():
            chosen = getattr(self.providers, kind)
            if chosen not in known:
                found.append(f"WALLET_{kind.upper()}_PROVIDER={chosen!r} is not one of {known}")
        mail = self.notifications
        if mail.smtp_tls not in SMTP_TLS_MODES:
            found.append(f"WALLET_SMTP_TLS={mail.smtp_tls!r} is not one of {SMTP_TLS_MODES}")
        if self.providers.email == SMTP and not mail.smtp_host:
            found.append("WALLET_EMAIL_PROVIDER=smtp needs WALLET_SMTP_HOST")
        for proxy in self.trusted_proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                found.append(f"WALLET_TRUSTED_PROXIES: {proxy!r} is not an IP address or CIDR")
        for name, amount in (
            ("WALLET_REFERRAL_REFERRER_BONUS", self.referrals.referrer_bonus),
            ("WALLET_REFERRAL_REFERRED_BONUS", self.referrals.referred_bonus),
        ):
            if not amount.is_positive:
                found.append(f"{name} must be more than zero")
        if self.referrals.minimum.amount_minor < 0:
            found.append("WALLET_REFERRAL_MINIMUM is negative")
        if self.referrals.days < 1:
            found.append("WALLET_REFERRAL_DAYS must be at least 1")
        if why := vapid_key_problem(self.notifications.vapid_private_key):
            found.append(f"WALLET_VAPID_PRIVATE_KEY {why}")
        if not self.notifications.vapid_subject.startswith(("mailto:", "https://")):
            found.append("WALLET_VAPID_SUBJECT must start with mailto: or https://")
        return found

    def production_problems(self) -> list[str]:
        """Why these settings must not run in production (empty: they may)."""
        found = self.problems()
        secret = self.gateway.webhook_secret
        if why := weak_secret("" if secret == SANDBOX_WEBHOOK_SECRET else secret):
            found.append(f"WALLET_GATEWAY_WEBHOOK_SECRET {why}")
        found += self._pii_key_problems()
        audit_key = self.audit.key
        if why := weak_secret("" if audit_key == DEVELOPMENT_AUDIT_KEY else audit_key):
            found.append(f"WALLET_AUDIT_KEY {why}")
        token = self.metrics.token
        if why := weak_secret("" if token == DEVELOPMENT_METRICS_TOKEN else token):
            found.append(f"WALLET_METRICS_TOKEN {why}")
        if not self.providers.allow_sandbox:
            for kind in PROVIDERS:
                if getattr(self.providers, kind) == SANDBOX:
                    found.append(
                        f"WALLET_{kind.upper()}_PROVIDER is the sandbox (a staging setup may "
                        "allow it with WALLET_ALLOW_SANDBOX_PROVIDERS=true)"
                    )
            if self.gateway.publishable_key.startswith("pk_sandbox"):
                found.append("WALLET_GATEWAY_PUBLISHABLE_KEY is the sandbox's")
            if not self.gateway.tokenize_url.startswith("https://"):
                found.append(
                    "WALLET_GATEWAY_TOKENIZE_URL is not https: card numbers would cross "
                    "the network in clear"
                )
        if self.providers.email == SMTP and self.notifications.smtp_tls == "none":
            found.append(
                "WALLET_SMTP_TLS is none: one-time codes would cross the network in clear "
                "(plain SMTP is for the development mail sink)"
            )
        if self.notifications.dev_inbox:
            found.append(
                "WALLET_DEV_INBOX is on: the Inbox page would show everyone's one-time codes"
            )
        if not self.secure_cookies:
            found.append("WALLET_COOKIE_SECURE is off: session cookies would travel over HTTP")
        if self.notifications.vapid_private_key == DEVELOPMENT_VAPID_PRIVATE_KEY:
            found.append(
                "WALLET_VAPID_PRIVATE_KEY is the development key (it is public: anyone could "
                "push to this deployment's subscribers); generate one with `wallet keys vapid`"
            )
        if self.notifications.push_allow_private_endpoints:
            found.append(
                "WALLET_PUSH_ALLOW_PRIVATE_ENDPOINTS is on: push endpoints could reach "
                "internal addresses (SSRF)"
            )
        if self.merchants.webhook_allow_private_targets:
            found.append(
                "WALLET_WEBHOOK_ALLOW_PRIVATE_TARGETS is on: merchant webhooks could reach "
                "internal addresses (SSRF)"
            )
        return found

    def _pii_key_problems(self) -> list[str]:
        keys = self.privacy.pii_keys
        if not keys:
            return ["WALLET_PII_KEYS is not set (docs/security.md)"]
        found = []
        for part in filter(None, (p.strip() for p in keys.split(","))):
            key_id, _, encoded = part.partition(":")
            try:
                raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
            except (binascii.Error, ValueError):
                found.append(f"WALLET_PII_KEYS key {key_id!r} is not base64")
                continue
            if len(raw) != 32:
                found.append(f"WALLET_PII_KEYS key {key_id!r} is not 32 bytes")
            elif why := weak_key(raw):
                found.append(f"WALLET_PII_KEYS key {key_id!r} {why}")
        return found

    def check(self) -> None:
        """Refuse to start (API and worker alike) on settings unfit for this environment."""
        found = self.production_problems() if self.is_production else self.problems()
        if found:
            raise InvalidSettings(found)

    def require_urls(self) -> tuple[str, str]:
        """The database and Redis URLs; the launcher fills them before the app starts."""
        if not self.database_url or not self.redis_url:
            raise RuntimeError(
                "DATABASE_URL and REDIS_URL must be set (run through `wallet dev`, "
                "which starts embedded servers when they are not)"
            )
        return self.database_url, self.redis_url


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read from the environment once (the API, the worker and
    services deep in the money path all see the same values). Tests that change a
    variable call `get_settings.cache_clear()`."""
    return Settings.from_env()
