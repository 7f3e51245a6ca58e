"""Configuration: one typed place (wallet.config), grouped by domain, read from the same
WALLET_* variables as always; a wrong value stops the start and names its variable."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, Field
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings

from wallet.commands import rules
from wallet.config import (
    DEFAULT_POLICY,
    DEVELOPMENT_AUDIT_KEY,
    LIMIT_SCOPES,
    REPO_ROOT,
    SANDBOX,
    SANDBOX_WEBHOOK_SECRET,
    SECURE_SESSION_COOKIE,
    SERVER_SETTINGS,
    SESSION_COOKIE,
    AmlThresholds,
    InvalidSettings,
    PeriodLimits,
    ProviderSettings,
    Settings,
    describe_error,
    get_settings,
    parse_policy,
)
from wallet.fraud import engine as fraud_engine
from wallet.fraud import service as fraud_service
from wallet.limits import service as limits
from wallet.money import Currency, Money
from wallet.transfers import models as transfers

# WALLET_* names in the code that are not configuration.
NOT_SETTINGS = {"WALLET_UNAVAILABLE": "an error code"}
# The made-up variables of this file's checks of its own checks.
EXAMPLE_PREFIX = "WALLET_EXAMPLE_"
# Where the code may touch the environment outside config.py, and why.
SOURCE_DIRS = ("backend/wallet", "workers")


def usd(dollars: int) -> Money:
    return Money.parse(str(dollars), Currency.USD)


def declared(model: type[BaseModel] = Settings) -> dict[str, str]:
    """Every variable Settings reads: alias -> dotted field path."""
    found: dict[str, str] = {}
    for name, field in model.model_fields.items():
        kind = field.annotation
        if isinstance(field.validation_alias, str):
            found[field.validation_alias] = name
        elif isinstance(kind, type) and issubclass(kind, BaseModel):
            found |= {alias: f"{name}.{path}" for alias, path in declared(kind).items()}
    return found


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """An environment with no configuration variable set."""
    for name in declared():
        monkeypatch.delenv(name, raising=False)
    yield monkeypatch


def refusal(env: pytest.MonkeyPatch, **variables: str) -> str:
    for name, value in variables.items():
        env.setenv(name, value)
    with pytest.raises(InvalidSettings) as refused:
        Settings.from_env()
    assert str(refused.value).startswith("refusing to start: ")
    return str(refused.value)


# --- defaults ----------------------------------------------------------------------------


def test_defaults_without_any_variable(env: pytest.MonkeyPatch) -> None:
    s = Settings.from_env()
    assert (s.database_url, s.redis_url, s.environment, s.port) == (None, None, "development", 8000)
    assert s.audit_anchor_dir == s.data_dir / "audit-anchors"
    assert (s.fx.provider, s.fx.feed_url, s.fx.spread_bps, s.fx.quote_seconds) == (
        "sandbox",
        None,
        35,
        30,
    )
    assert s.limits.policy == DEFAULT_POLICY
    assert s.limits.cross_border_full_kyc == Money(100_000, Currency.USD)
    assert s.aml.thresholds == AmlThresholds()
    assert s.aml.thresholds.reporting == Money(300_000, Currency.USD)
    assert s.aml.thresholds.rapid_min == Money(100_000, Currency.USD)
    assert (s.fraud.hold_score, s.fraud.block_score, s.fraud.hold_days) == (50, 100, 7)
    assert s.fraud.rules_ttl_seconds == 5.0
    assert s.transfers.frozen_can_receive is True
    assert (s.step_up.seconds, s.step_up.send_above) == (300, Money(50_000, Currency.USD))
    assert s.referrals.referrer_bonus == Money(1_000, Currency.USD)
    assert s.trusted_proxies == ()
    assert (s.transfers.batch_size, s.transfers.batch_flushes, s.db_pool_size) == (64, 2, 10)
    s.check()


def test_defaults_of_the_domain_groups(env: pytest.MonkeyPatch) -> None:
    s = Settings.from_env()
    assert (s.auth.session_idle_seconds, s.auth.session_absolute_seconds) == (1800, 43200)
    assert (s.auth.cookie_secure, s.auth.webauthn_rp_id, s.auth.webauthn_origins) == (
        None,
        None,
        (),
    )
    assert (s.throttle.login_failures_per_account, s.throttle.login_failures_per_ip) == (5, 20)
    assert (s.throttle.money_mutations_per_minute, s.throttle.contact_invites_per_day) == (300, 20)
    assert s.providers == ProviderSettings(
        gateway=SANDBOX, email=SANDBOX, sms=SANDBOX, identity=SANDBOX, allow_sandbox=False
    )
    assert s.gateway.webhook_secret == SANDBOX_WEBHOOK_SECRET
    assert (s.gateway.timeout_seconds, s.gateway.callback_refusals_per_source) == (10.0, 20)
    assert (s.sandbox.day_seconds, s.sandbox.slow_seconds, s.sandbox.tokenizer_origins) == (
        60.0,
        30.0,
        (),
    )
    assert (s.requests.money_request_days, s.transfers.unclaimed_transfer_days) == (30, 14)
    assert s.merchants.buyer_protection_days == 14
    assert s.merchants.webhook_allow_private_targets is False
    assert (s.privacy.pii_keys, s.privacy.kyc_retention_days) == (None, 5 * 365 + 1)
    assert (s.audit.key, s.audit.anchor_dir) == (DEVELOPMENT_AUDIT_KEY, None)
    assert s.audit.key_bytes == DEVELOPMENT_AUDIT_KEY.encode()
    assert (s.notifications.smtp_host, s.notifications.smtp_tls, s.notifications.dev_inbox) == (
        None,
        "starttls",
        None,
    )
    assert s.notifications.smtp_port_or_default == 587
    assert (s.secure_cookies, s.session_cookie, s.dev_inbox_enabled) == (
        False,
        SESSION_COOKIE,
        True,
    )


def test_default_limits_are_whole_dollars_as_money() -> None:
    unverified = DEFAULT_POLICY["unverified"]
    assert set(unverified.by_scope) == set(LIMIT_SCOPES)
    assert unverified.by_scope["SEND"] == PeriodLimits(usd(1_000), usd(2_500), usd(5_000))
    assert unverified.balance_cap == usd(10_000)
    assert DEFAULT_POLICY["full"].balance_cap is None


def test_the_limit_scopes_of_the_configuration_are_the_domains() -> None:
    assert set(LIMIT_SCOPES) == {scope.value for scope in limits.SCOPE_TYPES}
    assert set(DEFAULT_POLICY) == set(limits.LEVELS)


def test_an_empty_variable_means_the_default(env: pytest.MonkeyPatch) -> None:
    for name in ("WALLET_ENV", "WALLET_PORT", "WALLET_FRAUD_HOLD_SCORE", "WALLET_AML"):
        env.setenv(name, "")
    s = Settings.from_env()
    assert (s.environment, s.port, s.fraud.hold_score) == ("development", 8000, 50)
    assert s.aml.thresholds == AmlThresholds()


# --- each group from its variables --------------------------------------------------------


def test_top_level_variables(env: pytest.MonkeyPatch) -> None:
    env.setenv("DATABASE_URL", "postgresql://db/wallet")
    env.setenv("WALLET_ENV", "staging")
    env.setenv("WALLET_PORT", "9001")
    env.setenv("WALLET_DATA_DIR", "/srv/wallet")
    env.setenv("WALLET_TRUSTED_PROXIES", " 10.0.0.0/8, ,192.168.1.1 ")
    env.setenv("WALLET_DB_POOL_SIZE", "3")
    env.setenv("WALLET_ALLOWED_WS_ORIGINS", "https://a.example,https://b.example")
    s = Settings.from_env()
    assert (s.database_url, s.environment, s.port) == ("postgresql://db/wallet", "staging", 9001)
    assert s.audit_anchor_dir == Path("/srv/wallet/audit-anchors")
    assert s.trusted_proxies == ("10.0.0.0/8", "192.168.1.1")
    assert s.db_pool_size == 3
    assert s.allowed_ws_origins == ("https://a.example", "https://b.example")


def test_auth_and_throttle_groups(env: pytest.MonkeyPatch) -> None:
    env.setenv("WALLET_SESSION_IDLE_SECONDS", "60")
    env.setenv("WALLET_SESSION_ABSOLUTE_SECONDS", "600")
    env.setenv("WALLET_COOKIE_SECURE", "yes")
    env.setenv("WALLET_WEBAUTHN_RP_ID", "wallet.example.com")
    env.setenv("WALLET_WEBAUTHN_RP_NAME", "My Wallet")
    env.setenv("WALLET_WEBAUTHN_ORIGINS", "https://wallet.example.com, https://m.example.com")
    env.setenv("WALLET_LOGIN_FAILURES_PER_ACCOUNT", "3")
    env.setenv("WALLET_LOGIN_FAILURES_PER_IP", "9")
    env.setenv("WALLET_LOGIN_WINDOW_SECONDS", "120")
    env.setenv("WALLET_SIGNUPS_PER_IP", "2")
    env.setenv("WALLET_SIGNUP_WINDOW_SECONDS", "7200")
    env.setenv("WALLET_MONEY_MUTATIONS_PER_MINUTE", "30")
    env.setenv("WALLET_CONTACT_INVITES_PER_DAY", "4")
    s = Settings.from_env()
    assert (s.auth.session_idle_seconds, s.auth.session_absolute_seconds) == (60, 600)
    assert s.auth.cookie_secure is True and s.secure_cookies
    assert s.session_cookie == SECURE_SESSION_COOKIE
    assert (s.auth.webauthn_rp_id, s.auth.webauthn_rp_name) == ("wallet.example.com", "My Wallet")
    assert s.auth.webauthn_origins == ("https://wallet.example.com", "https://m.example.com")
    t = s.throttle
    assert (t.login_failures_per_account, t.login_failures_per_ip, t.login_window_seconds) == (
        3,
        9,
        120,
    )
    assert (t.signups_per_ip, t.signup_window_seconds) == (2, 7200)
    assert (t.money_mutations_per_minute, t.contact_invites_per_day) == (30, 4)


def test_provider_gateway_and_sandbox_groups(env: pytest.MonkeyPatch) -> None:
    env.setenv("WALLET_GATEWAY_PROVIDER", "sandbox")
    env.setenv("WALLET_EMAIL_PROVIDER", "smtp")
    env.setenv("WALLET_SMTP_HOST", "smtp.example.com")
    env.setenv("WALLET_ALLOW_SANDBOX_PROVIDERS", "true")
    env.setenv("WALLET_GATEWAY_WEBHOOK_SECRET", "whsec")
    env.setenv("WALLET_GATEWAY_TOKENIZE_URL", "https://pay.example/v1/tokens")
    env.setenv("WALLET_GATEWAY_PUBLISHABLE_KEY", "pk_live_1")
    env.setenv("WALLET_GATEWAY_TIMEOUT_SECONDS", "2.5")
    env.setenv("WALLET_CALLBACK_REFUSALS_PER_SOURCE", "7")
    env.setenv("WALLET_CALLBACK_WINDOW_SECONDS", "30")
    env.setenv("WALLET_CALLBACK_AUDIT_ROWS_PER_WINDOW", "50")
    env.setenv("WALLET_SANDBOX_TOKENIZER_ORIGINS", "http://localhost:5173")
    env.setenv("WALLET_SANDBOX_DAY_SECONDS", "0.5")
    env.setenv("WALLET_SANDBOX_SLOW_SECONDS", "0")
    s = Settings.from_env()
    assert (s.providers.gateway, s.providers.email, s.providers.sms) == (
        "sandbox",
        "smtp",
        "sandbox",
    )
    assert s.providers.allow_sandbox is True
    g = s.gateway
    assert (g.webhook_secret, g.tokenize_url, g.publishable_key, g.timeout_seconds) == (
        "whsec",
        "https://pay.example/v1/tokens",
        "pk_live_1",
        2.5,
    )
    assert (g.callback_refusals_per_source, g.callback_window_seconds) == (7, 30)
    assert g.callback_audit_rows_per_window == 50
    assert s.sandbox.tokenizer_origins == ("http://localhost:5173",)
    assert (s.sandbox.day_seconds, s.sandbox.slow_seconds) == (0.5, 0.0)
    s.check()


def test_request_transfer_merchant_privacy_and_audit_groups(env: pytest.MonkeyPatch) -> None:
    env.setenv("WALLET_MONEY_REQUEST_DAYS", "7")
    env.setenv("WALLET_UNCLAIMED_TRANSFER_DAYS", "3")
    env.setenv("WALLET_BUYER_PROTECTION_DAYS", "90")
    env.setenv("WALLET_WEBHOOK_RETRY_BASE_SECONDS", "1.5")
    env.setenv("WALLET_WEBHOOK_ALLOW_PRIVATE_TARGETS", "1")
    env.setenv("WALLET_PII_KEYS", "k1:abc")
    env.setenv("WALLET_KYC_RETENTION_DAYS", "10")
    env.setenv("WALLET_AUDIT_KEY", "audit")
    env.setenv("WALLET_AUDIT_ANCHOR_DIR", "/var/anchors")
    s = Settings.from_env()
    assert (s.requests.money_request_days, s.transfers.unclaimed_transfer_days) == (7, 3)
    assert s.merchants.buyer_protection_days == 30  # clamped to what the merchant terms promise
    assert s.merchants.webhook_retry_base_seconds == 1.5
    assert s.merchants.webhook_allow_private_targets is True
    assert (s.privacy.pii_keys, s.privacy.kyc_retention_days) == ("k1:abc", 10)
    assert (s.audit.key_bytes, s.audit.anchor_dir) == (b"audit", Path("/var/anchors"))
    assert s.audit_anchor_dir == Path("/var/anchors")
    env.setenv("WALLET_BUYER_PROTECTION_DAYS", "1")
    assert Settings.from_env().merchants.buyer_protection_days == 7


def test_notifications_group(env: pytest.MonkeyPatch) -> None:
    env.setenv("WALLET_EMAIL_FROM", "Pay <pay@example.com>")
    env.setenv("WALLET_SMTP_HOST", "smtp.example.com")
    env.setenv("WALLET_SMTP_TLS", " TLS ")
    env.setenv("WALLET_SMTP_USERNAME", "mailer")
    env.setenv("WALLET_SMTP_PASSWORD", "pw")
    env.setenv("WALLET_SMTP_TIMEOUT_SECONDS", "3")
    env.setenv("WALLET_DEV_INBOX", "0")
    n = Settings.from_env().notifications
    assert (n.email_from, n.smtp_host, n.smtp_tls) == (
        "Pay <pay@example.com>",
        "smtp.example.com",
        "tls",
    )
    assert (n.smtp_username, n.smtp_password, n.smtp_timeout_seconds) == ("mailer", "pw", 3.0)
    assert (n.smtp_port, n.smtp_port_or_default, n.dev_inbox) == (None, 465, False)
    env.setenv("WALLET_SMTP_PORT", "2525")
    assert Settings.from_env().notifications.smtp_port_or_default == 2525


def test_services_read_the_grouped_knobs(env: pytest.MonkeyPatch) -> None:
    """The rules services apply come from the groups of the process settings."""
    env.setenv("WALLET_MONEY_REQUEST_DAYS", "9")
    env.setenv("WALLET_UNCLAIMED_TRANSFER_DAYS", "5")
    env.setenv("WALLET_BUYER_PROTECTION_DAYS", "21")
    get_settings.cache_clear()
    try:
        current = rules.current()
        assert (current.money_request_days, current.unclaimed_transfer_days) == (9, 5)
        assert current.buyer_protection_days == 21
    finally:
        get_settings.cache_clear()


def test_fx_group(env: pytest.MonkeyPatch) -> None:
    env.setenv("WALLET_FX_PROVIDER", "feed")
    env.setenv("WALLET_FX_FEED_URL", "https://rates.example/latest.json")
    env.setenv("WALLET_FX_SPREAD_BPS", "10")
    fx = Settings.from_env().fx
    assert (fx.provider, fx.feed_url, fx.spread_bps, fx.fee_bps) == (
        "feed",
        "https://rates.example/latest.json",
        10,
        25,
    )


def test_limits_group(env: pytest.MonkeyPatch) -> None:
    env.setenv("WALLET_LIMITS", '{"basic": {"send": {"daily": 8000}, "balance_cap": "20000.50"}}')
    env.setenv("WALLET_CROSS_BORDER_FULL_KYC_USD", "2500")
    group = Settings.from_env().limits
    assert group.policy["basic"].by_scope["SEND"] == PeriodLimits(
        usd(5_000), usd(8_000), usd(30_000)
    )
    assert group.policy["basic"].by_scope["ADD"] == DEFAULT_POLICY["basic"].by_scope["ADD"]
    assert group.policy["basic"].balance_cap == Money(2_000_050, Currency.USD)
    assert group.policy["full"] == DEFAULT_POLICY["full"]
    assert group.cross_border_full_kyc == Money(250_000, Currency.USD)


def test_aml_group(env: pytest.MonkeyPatch) -> None:
    env.setenv("WALLET_AML", '{"reporting_usd": 10000, "fan_count": 20, "rapid_share": 1}')
    t = Settings.from_env().aml.thresholds
    assert (t.reporting, t.fan_count, t.rapid_share) == (usd(10_000), 20, 1.0)
    assert t.structuring_count == AmlThresholds().structuring_count


def test_fraud_transfers_step_up_and_referral_groups(env: pytest.MonkeyPatch) -> None:
    env.setenv("WALLET_FRAUD_HOLD_SCORE", "30")
    env.setenv("WALLET_FRAUD_BLOCK_SCORE", "80")
    env.setenv("WALLET_FRAUD_HOLD_DAYS", "3")
    env.setenv("WALLET_FRAUD_RULES_TTL_SECONDS", "0")
    env.setenv("WALLET_FROZEN_CAN_RECEIVE", "false")
    env.setenv("WALLET_STEP_UP_SECONDS", "60")
    env.setenv("WALLET_STEP_UP_SEND_ABOVE_USD", "250.50 USD")
    env.setenv("WALLET_REFERRAL_REFERRER_BONUS", "12.50 EUR")
    env.setenv("WALLET_REFERRAL_MINIMUM", "25")
    s = Settings.from_env()
    assert (s.fraud.hold_score, s.fraud.block_score, s.fraud.hold_days) == (30, 80, 3)
    assert s.fraud.rules_ttl_seconds == 0
    assert s.transfers.frozen_can_receive is False
    assert (s.step_up.seconds, s.step_up.send_above) == (60, Money(25_050, Currency.USD))
    assert s.referrals.referrer_bonus == Money(1_250, Currency.EUR)
    assert s.referrals.minimum == Money(2_500, Currency.USD)


def test_services_read_their_knobs_from_the_process_settings(env: pytest.MonkeyPatch) -> None:
    """The knobs services used to read from the environment themselves now come from
    `get_settings()`: one reading per process, refreshed only on purpose."""
    env.setenv("WALLET_FROZEN_CAN_RECEIVE", "no")
    env.setenv("WALLET_FRAUD_HOLD_DAYS", "2")
    env.setenv("WALLET_FRAUD_HOLD_SCORE", "40")
    env.setenv("WALLET_LIMITS", '{"basic": {"balance_cap": 1}}')
    env.setenv("WALLET_CROSS_BORDER_FULL_KYC_USD", "10")
    get_settings.cache_clear()
    assert transfers.frozen_can_receive() is False
    assert not transfers.can_receive("frozen") and transfers.can_receive("restricted")
    assert fraud_service.hold_days() == 2
    assert fraud_engine.Thresholds.from_settings(get_settings().fraud).hold == 40
    assert limits.policy()["basic"].balance_cap == usd(1)
    command = transfers.SendMoney(1, "bob", usd(1), "", "key")
    assert command.cross_border_threshold == usd(10)
    # Cached: a later change of the environment is not seen until the cache is cleared.
    env.setenv("WALLET_FRAUD_HOLD_DAYS", "9")
    assert fraud_service.hold_days() == 2
    get_settings.cache_clear()
    assert fraud_service.hold_days() == 9


def test_settings_are_immutable_and_replace_makes_a_copy(env: pytest.MonkeyPatch) -> None:
    s = Settings.from_env()
    with pytest.raises(ValueError, match="frozen"):
        s.port = 1
    changed = s.replace(port=1, fraud=s.fraud.replace(hold_days=1))
    assert (changed.port, changed.fraud.hold_days, s.port, s.fraud.hold_days) == (1, 1, 8000, 7)
    with pytest.raises(TypeError, match="no setting"):
        s.replace(prot=1)
    # A group given as a dict changes only what it names.
    quick = s.replace(gateway={"timeout_seconds": 0.5})
    assert (quick.gateway.timeout_seconds, quick.gateway.webhook_secret) == (
        0.5,
        s.gateway.webhook_secret,
    )
    assert s.gateway.timeout_seconds == 10.0
    with pytest.raises(TypeError, match="GatewaySettings has no setting"):
        s.replace(gateway={"webhook_secrets": "x"})


# --- refusals name the variable ----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "complaint"),
    [
        ("WALLET_PORT", "eighty", "valid integer"),
        ("WALLET_COOKIE_SECURE", "nope", "valid boolean"),
        ("WALLET_DB_POOL_SIZE", "0", "greater than 0"),
        ("WALLET_GATEWAY_TIMEOUT_SECONDS", "soon", "valid number"),
        ("WALLET_FX_SPREAD_BPS", "-1", "greater than or equal to 0"),
        ("WALLET_FRAUD_HOLD_SCORE", "x", "valid integer"),
        ("WALLET_FRAUD_HOLD_DAYS", "0", "greater than 0"),
        ("WALLET_FROZEN_CAN_RECEIVE", "maybe", "valid boolean"),
        ("WALLET_LIMITS", '{"gold": {}}', "unknown verification level 'gold'"),
        ("WALLET_LIMITS", '{"basic": {"send": {"weekly": 1}}}', "unknown limit ['weekly']"),
        ("WALLET_LIMITS", '{"basic": {"fly": {}}}', "unknown kind of movement 'fly'"),
        ("WALLET_LIMITS", '{"basic": {"send": {"daily": true}}}', "is not an amount"),
        ("WALLET_LIMITS", "[1]", "is not a JSON object"),
        ("WALLET_LIMITS", "{", "is not a JSON document"),
        ("WALLET_CROSS_BORDER_FULL_KYC_USD", "1000 EUR", "valued in USD, not EUR"),
        ("WALLET_CROSS_BORDER_FULL_KYC_USD", "10.001", "at most 2 decimal places"),
        ("WALLET_STEP_UP_SEND_ABOVE_USD", "lots", "is not a decimal amount"),
        ("WALLET_REFERRAL_MINIMUM", "5 XYZ", "Unknown currency"),
        ("WALLET_REFERRAL_REFERRER_BONUS", "1 2 3", "is not an amount"),
        ("WALLET_AML", "not json", "is not a JSON document"),
        ("WALLET_AML", '{"reporting": 1}', "WALLET_AML reporting: Extra inputs"),
        ("WALLET_AML", '{"fan_count": 2.5}', "WALLET_AML fan_count: Input should be a valid int"),
        ("WALLET_AML", '{"fan_count": true}', "WALLET_AML fan_count"),
        ("WALLET_AML", '{"rapid_share": -1}', "WALLET_AML rapid_share: Input should be greater"),
        ("WALLET_AML", '{"structuring_band": 1.2}', "structuring_band: Input should be less"),
        ("WALLET_AML", '{"reporting_usd": 0}', "WALLET_AML reporting_usd: must be more than zero"),
        ("WALLET_AML", '{"sanctions_similarity": -1}', "WALLET_AML sanctions_similarity"),
        ("WALLET_SESSION_IDLE_SECONDS", "soon", "valid integer"),
        ("WALLET_WEBAUTHN_RP_NAME", "", None),
        ("WALLET_LOGIN_FAILURES_PER_IP", "many", "valid integer"),
        ("WALLET_ALLOW_SANDBOX_PROVIDERS", "perhaps", "valid boolean"),
        ("WALLET_CALLBACK_WINDOW_SECONDS", "1m", "valid integer"),
        ("WALLET_SANDBOX_DAY_SECONDS", "0", "greater than 0"),
        ("WALLET_SANDBOX_SLOW_SECONDS", "-1", "greater than or equal to 0"),
        ("WALLET_MONEY_REQUEST_DAYS", "0", "greater than 0"),
        ("WALLET_UNCLAIMED_TRANSFER_DAYS", "0", "greater than 0"),
        ("WALLET_BUYER_PROTECTION_DAYS", "two weeks", "valid integer"),
        ("WALLET_WEBHOOK_RETRY_BASE_SECONDS", "0", "greater than 0"),
        ("WALLET_WEBHOOK_ALLOW_PRIVATE_TARGETS", "maybe", "valid boolean"),
        ("WALLET_KYC_RETENTION_DAYS", "forever", "valid integer"),
        ("WALLET_SMTP_PORT", "-1", "greater than or equal to 0"),
        ("WALLET_SMTP_TIMEOUT_SECONDS", "0", "greater than 0"),
        ("WALLET_DEV_INBOX", "sometimes", "valid boolean"),
    ],
)
def test_a_wrong_value_stops_the_start_naming_its_variable(
    env: pytest.MonkeyPatch, name: str, value: str, complaint: str | None
) -> None:
    if complaint is None:  # an empty variable is the default, never a refusal
        env.setenv(name, value)
        Settings.from_env()
        return
    message = refusal(env, **{name: value})
    assert name in message and complaint in message


@pytest.mark.parametrize(
    ("variables", "complaint"),
    [
        ({"WALLET_SMTP_TLS": "ssl"}, "WALLET_SMTP_TLS='ssl' is not one of"),
        ({"WALLET_EMAIL_PROVIDER": "smtp"}, "WALLET_EMAIL_PROVIDER=smtp needs WALLET_SMTP_HOST"),
        ({"WALLET_SMS_PROVIDER": "twilio"}, "WALLET_SMS_PROVIDER='twilio' is not one of"),
        ({"WALLET_IDENTITY_PROVIDER": "x"}, "WALLET_IDENTITY_PROVIDER='x' is not one of"),
        ({"WALLET_TRUSTED_PROXIES": "10.0.0.0/8,proxy"}, "'proxy' is not an IP address"),
    ],
)
def test_settings_that_parse_but_cannot_run_are_refused_by_check(
    env: pytest.MonkeyPatch, variables: dict[str, str], complaint: str
) -> None:
    for name, value in variables.items():
        env.setenv(name, value)
    with pytest.raises(InvalidSettings, match="refusing to start") as refused:
        Settings.from_env().check()
    assert complaint in str(refused.value)


@pytest.mark.parametrize(
    ("variable", "value", "complaint"),
    [
        ("WALLET_DEV_INBOX", "true", "WALLET_DEV_INBOX is on"),
        ("WALLET_COOKIE_SECURE", "false", "WALLET_COOKIE_SECURE is off"),
        ("WALLET_WEBHOOK_ALLOW_PRIVATE_TARGETS", "true", "SSRF"),
        ("WALLET_GATEWAY_TOKENIZE_URL", "http://pay.example/t", "WALLET_GATEWAY_TOKENIZE_URL"),
        ("WALLET_AUDIT_KEY", "short", "WALLET_AUDIT_KEY is shorter"),
    ],
)
def test_production_refuses_grouped_variables_read_from_the_environment(
    env: pytest.MonkeyPatch, variable: str, value: str, complaint: str
) -> None:
    env.setenv("WALLET_ENV", "production")
    env.setenv(variable, value)
    with pytest.raises(InvalidSettings) as refused:
        Settings.from_env().check()
    assert complaint in str(refused.value)


def test_every_wrong_variable_is_listed_at_once(env: pytest.MonkeyPatch) -> None:
    message = refusal(
        env, WALLET_PORT="x", WALLET_FRAUD_BLOCK_SCORE="y", WALLET_AML="{", WALLET_DATA_DIR=""
    )
    assert all(n in message for n in ("WALLET_PORT", "WALLET_FRAUD_BLOCK_SCORE", "WALLET_AML"))


def test_a_refused_secret_is_not_repeated_in_the_message() -> None:
    def error(loc: str) -> ErrorDetails:
        return {"type": "value_error", "loc": (loc,), "msg": "Value error, bad", "input": "s3"}

    assert describe_error(error("WALLET_SMTP_PORT")) == "WALLET_SMTP_PORT: bad (got 's3')"
    for secret in (
        "WALLET_AUDIT_KEY",
        "WALLET_GATEWAY_WEBHOOK_SECRET",
        "WALLET_SMTP_PASSWORD",
        "WALLET_METRICS_TOKEN",
    ):
        assert describe_error(error(secret)) == f"{secret}: bad"


# --- money ---------------------------------------------------------------------------------


@given(st.integers(min_value=0, max_value=10**15), st.sampled_from(list(Currency)), st.booleans())
def test_an_amount_with_its_currency_reads_back_exactly(
    minor: int, currency: Currency, bare_usd: bool
) -> None:
    amount = Money(minor, currency)
    written = amount.format() if bare_usd and currency is Currency.USD else str(amount)
    settings = Settings(database_url=None, redis_url=None)
    parsed = settings.referrals.model_validate({"WALLET_REFERRAL_MINIMUM": written}).minimum
    assert parsed == amount


@given(st.integers(min_value=1, max_value=10**9))
def test_a_bare_usd_threshold_is_in_dollars(dollars: int) -> None:
    group = Settings(database_url=None, redis_url=None).limits
    parsed = group.model_validate({"WALLET_CROSS_BORDER_FULL_KYC_USD": str(dollars)})
    assert parsed.cross_border_full_kyc == Money.parse(f"{dollars}.00", Currency.USD)


def test_policy_overrides_merge_over_the_defaults() -> None:
    policy = parse_policy('{"basic": {"send": {"daily": 8000}}, "full": {"balance_cap": null}}')
    assert policy["basic"].by_scope["SEND"].daily == usd(8_000)
    assert policy["basic"].by_scope["SEND"].per_transaction == usd(5_000)
    assert policy["unverified"] == DEFAULT_POLICY["unverified"]
    assert parse_policy("") == DEFAULT_POLICY


# --- one place -------------------------------------------------------------------------------


def _python_files(*folders: str) -> Iterator[Path]:
    for folder in folders:
        yield from (REPO_ROOT / folder).rglob("*.py")


def _environment_reads(tree: ast.AST) -> list[int]:
    """Lines that read the process environment (os.environ, os.getenv, environ, getenv).
    Writing a variable for a child process, copying the environment for one, and naming
    Piccolo's own configuration module are not configuration reads."""
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "os":
            if {a.name for a in node.names} & {"environ", "getenv", "environb"}:
                lines.append(node.lineno)
            continue
        is_environ = isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv")
        if not is_environ:
            continue
        parent = parents.get(node)
        if isinstance(parent, ast.Subscript) and isinstance(parent.ctx, ast.Store):
            continue  # os.environ["X"] = ... (for a child process)
        if isinstance(parent, ast.Call) and getattr(parent.func, "id", None) == "dict":
            continue  # dict(os.environ): the environment handed to a child process
        if isinstance(parent, ast.Attribute) and parent.attr == "setdefault":
            call = parents.get(parent)
            if isinstance(call, ast.Call) and ast.literal_eval(call.args[0]) == "PICCOLO_CONF":
                continue
        lines.append(node.lineno)
    return sorted(lines)


def test_nothing_outside_config_reads_the_environment() -> None:
    config = REPO_ROOT / "backend" / "wallet" / "config.py"
    found = [
        f"{path.relative_to(REPO_ROOT)}:{line}"
        for path in _python_files(*SOURCE_DIRS)
        if path != config
        for line in _environment_reads(ast.parse(path.read_text()))
    ]
    assert found == [], "read configuration through wallet.config.Settings instead"


def test_the_environment_check_catches_a_read() -> None:
    source = "import os\nx = os.environ.get('X')\ny = os.getenv('Y')\nos.environ['Z'] = '1'\n"
    assert _environment_reads(ast.parse(source)) == [2, 3]
    assert _environment_reads(ast.parse("from os import environ\n")) == [1]


def test_every_wallet_variable_named_in_the_code_is_a_setting() -> None:
    names = set()
    for path in _python_files(*SOURCE_DIRS, "tests", "bench"):
        names |= set(re.findall(r"\b(WALLET_[A-Z0-9_]+)\b", path.read_text()))
    names = {n for n in names if not n.startswith(EXAMPLE_PREFIX)}
    unknown = sorted(names - set(declared()) - set(NOT_SETTINGS))
    assert unknown == [], "declare these in wallet.config.Settings (and the README)"


def test_every_setting_is_documented_in_the_readme() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    assert sorted(n for n in declared() if f"`{n}`" not in readme) == []
    assert {"WALLET_LIMITS", "WALLET_AML", "WALLET_FRAUD_HOLD_SCORE"} <= set(declared())


def test_secrets_stay_out_of_the_settings_repr() -> None:
    s = Settings(database_url=None, redis_url=None).replace(
        audit={"key": "audit-secret-value"},
        privacy={"pii_keys": "k1:pii-secret-value"},
        gateway={"webhook_secret": "webhook-secret-value"},
        notifications={"smtp_password": "smtp-secret-value"},
        metrics={"token": "metrics-secret-value"},
    )
    assert s.audit.key == "audit-secret-value"
    assert "secret-value" not in repr(s) and "secret-value" not in str(s)


# --- grouped ------------------------------------------------------------------------------


def flat_fields(model: type[Settings]) -> set[str]:
    """The fields of `model` that are a single knob rather than a domain group."""
    return {
        name
        for name, field in model.model_fields.items()
        if not (isinstance(field.annotation, type) and issubclass(field.annotation, BaseSettings))
    }


def test_only_server_level_knobs_are_flat_on_settings() -> None:
    """Every domain's knob lives in its group; `Settings` itself keeps only where the
    process runs and what it connects to (SERVER_SETTINGS)."""
    assert flat_fields(Settings) - SERVER_SETTINGS == set(), "put domain knobs in their group"
    assert SERVER_SETTINGS - flat_fields(Settings) == set(), "SERVER_SETTINGS names a stale knob"


def test_the_flatness_check_catches_a_new_flat_knob() -> None:
    class Loose(Settings):
        login_banner: str = Field(default="", validation_alias="WALLET_EXAMPLE_BANNER")

    assert flat_fields(Loose) - SERVER_SETTINGS == {"login_banner"}


def test_every_group_reads_its_own_variables() -> None:
    """Each variable is read by exactly one field, and each group's by that group."""
    aliases = list(declared().items())
    assert len({alias for alias, _ in aliases}) == len(aliases)
    groups = {path.split(".")[0] for _, path in aliases if "." in path}
    assert groups == set(Settings.model_fields) - flat_fields(Settings)


def _wallet_environment_reads(tree: ast.AST) -> list[int]:
    """Lines that read a WALLET_* variable from the environment: subscripting os.environ,
    os.environ.get / pop / setdefault, os.getenv, or environ / getenv imported from os."""
    lines = []
    for node in ast.walk(tree):
        name: ast.expr | None = None
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
            value = node.value
            if isinstance(value, ast.Attribute | ast.Name) and _environ(value):
                name = node.slice
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in ("get", "pop", "setdefault"):
                if _environ(func.value):
                    name = node.args[0]
            elif _named(func, "getenv"):
                name = node.args[0]
        if (
            isinstance(name, ast.Constant)
            and isinstance(name.value, str)
            and name.value.startswith("WALLET_")
        ):
            lines.append(node.lineno)
    return sorted(lines)


def _named(node: ast.expr, name: str) -> bool:
    return (isinstance(node, ast.Name) and node.id == name) or (
        isinstance(node, ast.Attribute) and node.attr == name
    )


def _environ(node: ast.expr) -> bool:
    return _named(node, "environ")


def test_no_module_outside_config_reads_a_wallet_variable() -> None:
    """Not the services, the worker, the benchmarks nor the tests: they set variables (for
    a child process, or before `Settings.from_env()`), and read them through Settings."""
    config = REPO_ROOT / "backend" / "wallet" / "config.py"
    found = [
        f"{path.relative_to(REPO_ROOT)}:{line}"
        for path in _python_files(*SOURCE_DIRS, "tests", "bench")
        if path != config
        for line in _wallet_environment_reads(ast.parse(path.read_text()))
    ]
    assert found == [], "read WALLET_* variables through wallet.config.Settings"


def test_the_wallet_variable_check_catches_every_way_of_reading() -> None:
    source = (
        "import os\nfrom os import environ, getenv\n"
        "a = os.environ['WALLET_EXAMPLE_A']\n"
        "b = os.environ.get('WALLET_EXAMPLE_B', '1')\n"
        "c = os.getenv('WALLET_EXAMPLE_C')\n"
        "d = environ.get('WALLET_EXAMPLE_D')\n"
        "e = getenv('WALLET_EXAMPLE_E')\n"
        "os.environ['WALLET_EXAMPLE_F'] = '1'\n"
        "g = os.environ.get('DATABASE_URL')\n"
        "env = {}\nh = env.get('WALLET_EXAMPLE_H')\n"
    )
    assert _wallet_environment_reads(ast.parse(source)) == [3, 4, 5, 6, 7]
