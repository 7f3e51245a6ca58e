"""Settings read once from the environment.

Every knob the service has is here, with its default, so the README's configuration
table and the code cannot drift apart silently (tests/unit/test_config.py checks).
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import math
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from wallet.money import Currency, Money

REPO_ROOT = Path(__file__).resolve().parents[2]
# The sandbox gateway's well-known callback key; production refuses to start with it.
SANDBOX_WEBHOOK_SECRET = "sandbox-webhook-secret"  # noqa: S105
# The field-encryption key development runs with; production refuses it.
DEVELOPMENT_PII_KEY = b"wallet-development-key-32-bytes!"
SANDBOX = "sandbox"
SMTP = "smtp"
# How the SMTP provider secures its connection: `tls` from the first byte (port 465),
# `starttls` (port 587), or `none` (the development sink on loopback only).
SMTP_TLS_MODES = ("tls", "starttls", "none")
# The providers that exist; a real adapter adds its name here (README, "Providers").
PROVIDERS: dict[str, tuple[str, ...]] = {
    "gateway": (SANDBOX,),
    "email": (SANDBOX, SMTP),
    "sms": (SANDBOX,),
    "identity": (SANDBOX,),
}
SESSION_COOKIE = "wallet_session"
# Over HTTPS the cookie takes the __Host- prefix: the browser then insists on Secure,
# Path=/ and no Domain, so no sibling host can set or shadow it.
SECURE_SESSION_COOKIE = "__Host-wallet_session"
MIN_SECRET_CHARS = 32
MIN_SECRET_BITS = 128.0
# The audit chain's development HMAC key; production must refuse it (docs/security.md).
DEVELOPMENT_AUDIT_KEY = "development-audit-key-not-secret"
# The sandbox tokeniser's publishable key: public by design (it only makes tokens).
SANDBOX_PUBLISHABLE_KEY = "pk_sandbox_wallet"
# Referral defaults (docs/rewards.md, "Referrals").
REFERRER_BONUS = Money(1_000, Currency.USD)
REFERRED_BONUS = Money(500, Currency.USD)
REFERRAL_MINIMUM = Money(1_000, Currency.USD)


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return default if raw in (None, "") else int(raw)


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return default if raw in (None, "") else float(raw)


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _money(name: str, default: Money) -> Money:
    """An amount with its currency, "10.00 USD" (a bare amount is in `default`'s)."""
    raw = (os.environ.get(name) or "").split()
    if not raw:
        return default
    return Money.parse(raw[0], raw[1] if len(raw) > 1 else default.currency)


def _list(name: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in os.environ.get(name, "").split(",") if p.strip())


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


@dataclass(frozen=True)
class Settings:
    """Runtime configuration. Build with `Settings.from_env()`."""

    database_url: str | None
    redis_url: str | None
    # The schema owner's URL, for migrations only; the app connects with database_url.
    migration_database_url: str | None = None
    environment: str = "development"
    data_dir: Path = REPO_ROOT / ".data"
    host: str = "127.0.0.1"
    port: int = 8000
    session_idle_seconds: int = 30 * 60
    session_absolute_seconds: int = 12 * 60 * 60
    # None: Secure in production, not over plain-HTTP development.
    cookie_secure: bool | None = None
    # Proxies whose X-Forwarded-For is believed (IPs or CIDRs); none by default.
    trusted_proxies: tuple[str, ...] = ()
    login_failures_per_account: int = 5
    login_failures_per_ip: int = 20
    login_window_seconds: int = 15 * 60
    signups_per_ip: int = 20
    signup_window_seconds: int = 60 * 60
    money_mutations_per_minute: int = 300
    # The batched write path for sends (wallet.transfers.batch): at most this many sends
    # per database transaction (1: no batching), and this many batches in flight at once.
    # Off by default: measured, it is not yet faster than sending alone (bench/README.md).
    send_batch_size: int = 1
    send_batch_flushes: int = 4
    # Requests and split-group invitations one user may address to emails or phones per
    # day: each may send an email or SMS to someone who never signed up.
    contact_invites_per_day: int = 20
    frontend_dist: Path = REPO_ROOT / "frontend" / "dist"
    db_pool_size: int = 10
    allowed_ws_origins: tuple[str, ...] = field(default_factory=tuple)
    gateway_webhook_secret: str = SANDBOX_WEBHOOK_SECRET
    # Client-side tokenisation (docs/security.md, "Payment details and PCI scope"): the
    # web app posts card and bank details here, never to the API.
    gateway_tokenize_url: str = "http://127.0.0.1:8001/v1/tokens"
    gateway_publishable_key: str = SANDBOX_PUBLISHABLE_KEY
    sandbox_tokenizer_origins: tuple[str, ...] = ()
    gateway_timeout_seconds: float = 10.0
    sandbox_day_seconds: float = 60.0
    sandbox_slow_seconds: float = 30.0
    unclaimed_transfer_days: int = 14
    money_request_days: int = 30
    webhook_retry_base_seconds: float = 30.0
    # Merchant webhooks to loopback/private addresses: only for tests and a receiver on
    # this machine; the SSRF guard refuses them otherwise (docs/security.md, "Merchants").
    webhook_allow_private_targets: bool = False
    # AML record keeping: verification records outlive a closed account this long.
    kyc_retention_days: int = 5 * 365 + 1
    buyer_protection_days: int = 14
    fx_provider: str = "sandbox"
    fx_feed_url: str | None = None
    fx_max_rate_age_seconds: int = 600
    fx_spread_bps: int = 35
    fx_fee_bps: int = 25
    fx_quote_seconds: int = 30
    cross_border_full_kyc_usd: int = 1_000
    pii_keys: str | None = None
    step_up_seconds: int = 300
    step_up_send_above_usd: int = 500
    # None: in development the host the page is served from, else "localhost".
    webauthn_rp_id: str | None = None
    webauthn_rp_name: str = "Wallet"
    webauthn_origins: tuple[str, ...] = ()
    gateway_provider: str = SANDBOX
    email_provider: str = SANDBOX
    sms_provider: str = SANDBOX
    identity_provider: str = SANDBOX
    # A staging deployment may run production settings on the sandboxes, if it says so.
    allow_sandbox_providers: bool = False
    # The SMTP server of WALLET_EMAIL_PROVIDER=smtp. Unset host under `wallet dev`: the
    # development mail sink it starts (docs/architecture.md, "Email in development").
    smtp_host: str | None = None
    smtp_port: int | None = None  # None: 465 for tls, 587 for starttls, 25 for none
    smtp_tls: str = "starttls"
    smtp_username: str | None = None
    smtp_password: str | None = None
    email_from: str = "Wallet <no-reply@wallet.localhost>"
    smtp_timeout_seconds: float = 10.0
    # The development Inbox page (emails and texts the app sent); None: on in development
    # only. Production refuses it: it shows everyone's one-time codes to anyone.
    dev_inbox: bool | None = None
    audit_key: str = DEVELOPMENT_AUDIT_KEY
    audit_anchor_dir: Path = REPO_ROOT / ".data" / "audit-anchors"
    callback_refusals_per_source: int = 20
    callback_window_seconds: int = 60
    callback_audit_rows_per_window: int = 200
    # Referrals (docs/rewards.md): what the one who invited and the one who joined each
    # get, once the newcomer is verified and moved at least `referral_minimum` (a first
    # top-up, send or payment) within `referral_days` of joining.
    referral_referrer_bonus: Money = REFERRER_BONUS
    referral_referred_bonus: Money = REFERRED_BONUS
    referral_minimum: Money = REFERRAL_MINIMUM
    referral_days: int = 30

    @property
    def audit_key_bytes(self) -> bytes:
        return self.audit_key.encode()

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def dev_inbox_enabled(self) -> bool:
        if self.dev_inbox is None:
            return self.environment == "development"
        return self.dev_inbox and not self.is_production

    @property
    def smtp_port_or_default(self) -> int:
        if self.smtp_port:
            return self.smtp_port
        return {"tls": 465, "starttls": 587}.get(self.smtp_tls, 25)

    @property
    def secure_cookies(self) -> bool:
        return self.is_production if self.cookie_secure is None else self.cookie_secure

    @property
    def session_cookie(self) -> str:
        return SECURE_SESSION_COOKIE if self.secure_cookies else SESSION_COOKIE

    @classmethod
    def from_env(cls) -> Settings:
        origins = os.environ.get("WALLET_ALLOWED_WS_ORIGINS", "")
        data_dir = Path(os.environ.get("WALLET_DATA_DIR", str(REPO_ROOT / ".data")))
        return cls(
            database_url=os.environ.get("DATABASE_URL") or None,
            redis_url=os.environ.get("REDIS_URL") or None,
            migration_database_url=os.environ.get("WALLET_MIGRATION_DATABASE_URL") or None,
            environment=os.environ.get("WALLET_ENV", "development"),
            data_dir=data_dir,
            host=os.environ.get("WALLET_HOST", "127.0.0.1"),
            port=_int("WALLET_PORT", 8000),
            kyc_retention_days=_int("WALLET_KYC_RETENTION_DAYS", 5 * 365 + 1),
            session_idle_seconds=_int("WALLET_SESSION_IDLE_SECONDS", 30 * 60),
            session_absolute_seconds=_int("WALLET_SESSION_ABSOLUTE_SECONDS", 12 * 60 * 60),
            cookie_secure=(
                _bool("WALLET_COOKIE_SECURE", False)
                if os.environ.get("WALLET_COOKIE_SECURE")
                else None
            ),
            trusted_proxies=_list("WALLET_TRUSTED_PROXIES"),
            login_failures_per_account=_int("WALLET_LOGIN_FAILURES_PER_ACCOUNT", 5),
            login_failures_per_ip=_int("WALLET_LOGIN_FAILURES_PER_IP", 20),
            login_window_seconds=_int("WALLET_LOGIN_WINDOW_SECONDS", 15 * 60),
            signups_per_ip=_int("WALLET_SIGNUPS_PER_IP", 20),
            signup_window_seconds=_int("WALLET_SIGNUP_WINDOW_SECONDS", 60 * 60),
            money_mutations_per_minute=_int("WALLET_MONEY_MUTATIONS_PER_MINUTE", 300),
            send_batch_size=_int("WALLET_SEND_BATCH_SIZE", 1),
            send_batch_flushes=_int("WALLET_SEND_BATCH_FLUSHES", 4),
            contact_invites_per_day=_int("WALLET_CONTACT_INVITES_PER_DAY", 20),
            frontend_dist=Path(
                os.environ.get("WALLET_FRONTEND_DIST", str(REPO_ROOT / "frontend" / "dist"))
            ),
            db_pool_size=_int("WALLET_DB_POOL_SIZE", 10),
            allowed_ws_origins=tuple(o for o in origins.split(",") if o),
            gateway_webhook_secret=(
                os.environ.get("WALLET_GATEWAY_WEBHOOK_SECRET") or SANDBOX_WEBHOOK_SECRET
            ),
            gateway_timeout_seconds=_float("WALLET_GATEWAY_TIMEOUT_SECONDS", 10.0),
            gateway_tokenize_url=os.environ.get("WALLET_GATEWAY_TOKENIZE_URL")
            or Settings.gateway_tokenize_url,
            gateway_publishable_key=os.environ.get("WALLET_GATEWAY_PUBLISHABLE_KEY")
            or SANDBOX_PUBLISHABLE_KEY,
            sandbox_tokenizer_origins=tuple(
                o.strip()
                for o in os.environ.get("WALLET_SANDBOX_TOKENIZER_ORIGINS", "").split(",")
                if o.strip()
            ),
            sandbox_day_seconds=_float("WALLET_SANDBOX_DAY_SECONDS", 60.0),
            sandbox_slow_seconds=_float("WALLET_SANDBOX_SLOW_SECONDS", 30.0),
            unclaimed_transfer_days=_int("WALLET_UNCLAIMED_TRANSFER_DAYS", 14),
            money_request_days=_int("WALLET_MONEY_REQUEST_DAYS", 30),
            webhook_retry_base_seconds=_float("WALLET_WEBHOOK_RETRY_BASE_SECONDS", 30.0),
            webhook_allow_private_targets=_bool("WALLET_WEBHOOK_ALLOW_PRIVATE_TARGETS", False),
            buyer_protection_days=min(max(_int("WALLET_BUYER_PROTECTION_DAYS", 14), 7), 30),
            fx_provider=os.environ.get("WALLET_FX_PROVIDER", "sandbox"),
            fx_feed_url=os.environ.get("WALLET_FX_FEED_URL") or None,
            fx_max_rate_age_seconds=_int("WALLET_FX_MAX_RATE_AGE_SECONDS", 600),
            fx_spread_bps=_int("WALLET_FX_SPREAD_BPS", 35),
            fx_fee_bps=_int("WALLET_FX_FEE_BPS", 25),
            fx_quote_seconds=_int("WALLET_FX_QUOTE_SECONDS", 30),
            cross_border_full_kyc_usd=_int("WALLET_CROSS_BORDER_FULL_KYC_USD", 1_000),
            pii_keys=os.environ.get("WALLET_PII_KEYS") or None,
            step_up_seconds=_int("WALLET_STEP_UP_SECONDS", 300),
            step_up_send_above_usd=_int("WALLET_STEP_UP_SEND_ABOVE_USD", 500),
            webauthn_rp_id=os.environ.get("WALLET_WEBAUTHN_RP_ID") or None,
            webauthn_rp_name=os.environ.get("WALLET_WEBAUTHN_RP_NAME", "Wallet"),
            webauthn_origins=_list("WALLET_WEBAUTHN_ORIGINS"),
            gateway_provider=os.environ.get("WALLET_GATEWAY_PROVIDER") or SANDBOX,
            email_provider=os.environ.get("WALLET_EMAIL_PROVIDER") or SANDBOX,
            sms_provider=os.environ.get("WALLET_SMS_PROVIDER") or SANDBOX,
            identity_provider=os.environ.get("WALLET_IDENTITY_PROVIDER") or SANDBOX,
            allow_sandbox_providers=_bool("WALLET_ALLOW_SANDBOX_PROVIDERS", False),
            smtp_host=os.environ.get("WALLET_SMTP_HOST") or None,
            smtp_port=_int("WALLET_SMTP_PORT", 0) or None,
            smtp_tls=(os.environ.get("WALLET_SMTP_TLS") or "starttls").strip().lower(),
            smtp_username=os.environ.get("WALLET_SMTP_USERNAME") or None,
            smtp_password=os.environ.get("WALLET_SMTP_PASSWORD") or None,
            email_from=os.environ.get("WALLET_EMAIL_FROM") or Settings.email_from,
            smtp_timeout_seconds=_float("WALLET_SMTP_TIMEOUT_SECONDS", 10.0),
            dev_inbox=(
                _bool("WALLET_DEV_INBOX", False) if os.environ.get("WALLET_DEV_INBOX") else None
            ),
            audit_key=os.environ.get("WALLET_AUDIT_KEY") or DEVELOPMENT_AUDIT_KEY,
            audit_anchor_dir=Path(
                os.environ.get("WALLET_AUDIT_ANCHOR_DIR") or data_dir / "audit-anchors"
            ),
            callback_refusals_per_source=_int("WALLET_CALLBACK_REFUSALS_PER_SOURCE", 20),
            callback_window_seconds=_int("WALLET_CALLBACK_WINDOW_SECONDS", 60),
            callback_audit_rows_per_window=_int("WALLET_CALLBACK_AUDIT_ROWS_PER_WINDOW", 200),
            referral_referrer_bonus=_money("WALLET_REFERRAL_REFERRER_BONUS", REFERRER_BONUS),
            referral_referred_bonus=_money("WALLET_REFERRAL_REFERRED_BONUS", REFERRED_BONUS),
            referral_minimum=_money("WALLET_REFERRAL_MINIMUM", REFERRAL_MINIMUM),
            referral_days=_int("WALLET_REFERRAL_DAYS", 30),
        )

    def problems(self) -> list[str]:
        """What is wrong with these settings in any environment."""
        found = []
        for kind, known in PROVIDERS.items():
            chosen = getattr(self, f"{kind}_provider")
            if chosen not in known:
                found.append(f"WALLET_{kind.upper()}_PROVIDER={chosen!r} is not one of {known}")
        if self.smtp_tls not in SMTP_TLS_MODES:
            found.append(f"WALLET_SMTP_TLS={self.smtp_tls!r} is not one of {SMTP_TLS_MODES}")
        if self.email_provider == SMTP and not self.smtp_host:
            found.append("WALLET_EMAIL_PROVIDER=smtp needs WALLET_SMTP_HOST")
        for proxy in self.trusted_proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                found.append(f"WALLET_TRUSTED_PROXIES: {proxy!r} is not an IP address or CIDR")
        # KYC screens identities with these thresholds in the API too, not only the worker.
        # Imported here: the domain imports this module.
        from wallet.aml.monitor import Thresholds

        try:
            Thresholds.from_env()
        except ValueError as exc:
            found.append(str(exc))
        for name, amount in (
            ("WALLET_REFERRAL_REFERRER_BONUS", self.referral_referrer_bonus),
            ("WALLET_REFERRAL_REFERRED_BONUS", self.referral_referred_bonus),
        ):
            if not amount.is_positive:
                found.append(f"{name} must be more than zero")
        if self.referral_minimum.amount_minor < 0:
            found.append("WALLET_REFERRAL_MINIMUM is negative")
        if self.referral_days < 1:
            found.append("WALLET_REFERRAL_DAYS must be at least 1")
        if self.send_batch_size < 1 or self.send_batch_flushes < 1:
            found.append("WALLET_SEND_BATCH_SIZE and WALLET_SEND_BATCH_FLUSHES must be at least 1")
        return found

    def production_problems(self) -> list[str]:
        """Why these settings must not run in production (empty: they may)."""
        found = self.problems()
        if why := weak_secret(
            ""
            if self.gateway_webhook_secret == SANDBOX_WEBHOOK_SECRET
            else self.gateway_webhook_secret
        ):
            found.append(f"WALLET_GATEWAY_WEBHOOK_SECRET {why}")
        found += self._pii_key_problems()
        if why := weak_secret("" if self.audit_key == DEVELOPMENT_AUDIT_KEY else self.audit_key):
            found.append(f"WALLET_AUDIT_KEY {why}")
        if not self.allow_sandbox_providers:
            for kind in PROVIDERS:
                if getattr(self, f"{kind}_provider") == SANDBOX:
                    found.append(
                        f"WALLET_{kind.upper()}_PROVIDER is the sandbox (a staging setup may "
                        "allow it with WALLET_ALLOW_SANDBOX_PROVIDERS=true)"
                    )
            if self.gateway_publishable_key.startswith("pk_sandbox"):
                found.append("WALLET_GATEWAY_PUBLISHABLE_KEY is the sandbox's")
            if not self.gateway_tokenize_url.startswith("https://"):
                found.append(
                    "WALLET_GATEWAY_TOKENIZE_URL is not https: card numbers would cross "
                    "the network in clear"
                )
        if self.email_provider == SMTP and self.smtp_tls == "none":
            found.append(
                "WALLET_SMTP_TLS is none: one-time codes would cross the network in clear "
                "(plain SMTP is for the development mail sink)"
            )
        if self.dev_inbox:
            found.append(
                "WALLET_DEV_INBOX is on: the Inbox page would show everyone's one-time codes"
            )
        if not self.secure_cookies:
            found.append("WALLET_COOKIE_SECURE is off: session cookies would travel over HTTP")
        if self.webhook_allow_private_targets:
            found.append(
                "WALLET_WEBHOOK_ALLOW_PRIVATE_TARGETS is on: merchant webhooks could reach "
                "internal addresses (SSRF)"
            )
        return found

    def _pii_key_problems(self) -> list[str]:
        if not self.pii_keys:
            return ["WALLET_PII_KEYS is not set (docs/security.md)"]
        found = []
        for part in filter(None, (p.strip() for p in self.pii_keys.split(","))):
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
            raise RuntimeError("refusing to start: " + "; ".join(found))

    def require_urls(self) -> tuple[str, str]:
        """The database and Redis URLs; the launcher fills them before the app starts."""
        if not self.database_url or not self.redis_url:
            raise RuntimeError(
                "DATABASE_URL and REDIS_URL must be set (run through `wallet dev`, "
                "which starts embedded servers when they are not)"
            )
        return self.database_url, self.redis_url
