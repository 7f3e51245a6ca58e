"""Settings read once from the environment.

Every knob the service has is here, with its default, so the README's configuration
table and the code cannot drift apart silently (tests/unit/test_config.py checks).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
# The sandbox gateway's well-known callback key; production refuses to start with it.
SANDBOX_WEBHOOK_SECRET = "sandbox-webhook-secret"  # noqa: S105
# The sandbox tokeniser's publishable key: public by design (it only makes tokens).
SANDBOX_PUBLISHABLE_KEY = "pk_sandbox_wallet"


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


@dataclass(frozen=True)
class Settings:
    """Runtime configuration. Build with `Settings.from_env()`."""

    database_url: str | None
    redis_url: str | None
    environment: str = "development"
    data_dir: Path = REPO_ROOT / ".data"
    host: str = "127.0.0.1"
    port: int = 8000
    session_idle_seconds: int = 30 * 60
    session_absolute_seconds: int = 12 * 60 * 60
    cookie_secure: bool = False
    login_failures_per_account: int = 5
    login_failures_per_ip: int = 20
    login_window_seconds: int = 15 * 60
    signups_per_ip: int = 20
    signup_window_seconds: int = 60 * 60
    money_mutations_per_minute: int = 300
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
    step_up_actions: tuple[str, ...] = (
        "withdraw",
        "add_payment_method",
        "change_password",
        "change_email",
        "change_phone",
        "change_pin",
    )
    webauthn_rp_id: str = "localhost"
    webauthn_rp_name: str = "Wallet"
    webauthn_origins: tuple[str, ...] = ()

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @classmethod
    def from_env(cls) -> Settings:
        origins = os.environ.get("WALLET_ALLOWED_WS_ORIGINS", "")
        return cls(
            database_url=os.environ.get("DATABASE_URL") or None,
            redis_url=os.environ.get("REDIS_URL") or None,
            environment=os.environ.get("WALLET_ENV", "development"),
            data_dir=Path(os.environ.get("WALLET_DATA_DIR", str(REPO_ROOT / ".data"))),
            host=os.environ.get("WALLET_HOST", "127.0.0.1"),
            port=_int("WALLET_PORT", 8000),
            kyc_retention_days=_int("WALLET_KYC_RETENTION_DAYS", 5 * 365 + 1),
            session_idle_seconds=_int("WALLET_SESSION_IDLE_SECONDS", 30 * 60),
            session_absolute_seconds=_int("WALLET_SESSION_ABSOLUTE_SECONDS", 12 * 60 * 60),
            cookie_secure=_bool("WALLET_COOKIE_SECURE", False),
            login_failures_per_account=_int("WALLET_LOGIN_FAILURES_PER_ACCOUNT", 5),
            login_failures_per_ip=_int("WALLET_LOGIN_FAILURES_PER_IP", 20),
            login_window_seconds=_int("WALLET_LOGIN_WINDOW_SECONDS", 15 * 60),
            signups_per_ip=_int("WALLET_SIGNUPS_PER_IP", 20),
            signup_window_seconds=_int("WALLET_SIGNUP_WINDOW_SECONDS", 60 * 60),
            money_mutations_per_minute=_int("WALLET_MONEY_MUTATIONS_PER_MINUTE", 300),
            frontend_dist=Path(
                os.environ.get("WALLET_FRONTEND_DIST", str(REPO_ROOT / "frontend" / "dist"))
            ),
            db_pool_size=_int("WALLET_DB_POOL_SIZE", 10),
            allowed_ws_origins=tuple(o for o in origins.split(",") if o),
            gateway_webhook_secret=os.environ.get(
                "WALLET_GATEWAY_WEBHOOK_SECRET", SANDBOX_WEBHOOK_SECRET
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
            step_up_actions=tuple(
                a.strip()
                for a in os.environ.get(
                    "WALLET_STEP_UP_ACTIONS", ",".join(Settings.step_up_actions)
                ).split(",")
                if a.strip()
            ),
            webauthn_rp_id=os.environ.get("WALLET_WEBAUTHN_RP_ID", "localhost"),
            webauthn_rp_name=os.environ.get("WALLET_WEBAUTHN_RP_NAME", "Wallet"),
            webauthn_origins=tuple(
                o.strip()
                for o in os.environ.get("WALLET_WEBAUTHN_ORIGINS", "").split(",")
                if o.strip()
            ),
        )

    def check_production_secrets(self) -> None:
        if self.is_production and self.gateway_webhook_secret == SANDBOX_WEBHOOK_SECRET:
            raise RuntimeError("set WALLET_GATEWAY_WEBHOOK_SECRET in production")
        if self.is_production and not self.pii_keys:
            raise RuntimeError("set WALLET_PII_KEYS in production (docs/security.md)")

    def require_urls(self) -> tuple[str, str]:
        """The database and Redis URLs; the launcher fills them before the app starts."""
        if not self.database_url or not self.redis_url:
            raise RuntimeError(
                "DATABASE_URL and REDIS_URL must be set (run through `wallet dev`, "
                "which starts embedded servers when they are not)"
            )
        return self.database_url, self.redis_url
