"""Finding 4 (and 8, 20) of the security review: production refuses to start on unsafe
settings. Each case the reviewer started a production instance with is refused here,
and so is the rest of the class (short, low-entropy and sandbox values)."""

from __future__ import annotations

import base64
import secrets

import pytest

from wallet.config import SECURE_SESSION_COOKIE, SESSION_COOKIE, Settings, estimated_bits
from wallet.notifications.push import new_vapid_private_key
from wallet.security.crypto import DEVELOPMENT_KEYRING, Keyring

STRONG_SECRET = secrets.token_hex(32)


def production(**overrides: object) -> Settings:
    """Production settings that are fine, changed by `overrides`."""
    fine = Settings(database_url=None, redis_url=None).replace(
        environment="production",
        gateway={"webhook_secret": STRONG_SECRET},
        audit={"key": secrets.token_hex(32)},
        metrics={"token": secrets.token_hex(32)},
        notifications={"vapid_private_key": new_vapid_private_key()},
        privacy={"pii_keys": Keyring.new_key_entry("k1")},
        providers={"allow_sandbox": True},
        auth={"webauthn_rp_id": "wallet.example.com"},
    )
    return fine.replace(**overrides)


def key_entry(raw: bytes, key_id: str = "k1") -> str:
    return f"{key_id}:{base64.urlsafe_b64encode(raw).decode()}"


def test_sound_production_settings_start() -> None:
    production().check()


@pytest.mark.parametrize(
    ("overrides", "complaint"),
    [
        # What the reviewer started production with.
        ({"privacy": {"pii_keys": DEVELOPMENT_KEYRING}}, "is the development key"),
        ({"privacy": {"pii_keys": key_entry(bytes(32))}}, "is not random"),
        ({"gateway": {"webhook_secret": ""}}, "WALLET_GATEWAY_WEBHOOK_SECRET is empty"),
        # The rest of the class.
        ({"privacy": {"pii_keys": None}}, "WALLET_PII_KEYS is not set"),
        ({"privacy": {"pii_keys": key_entry(b"\x01\x02" * 16)}}, "is not random"),
        (
            {"privacy": {"pii_keys": Keyring.new_key_entry("k2") + "," + DEVELOPMENT_KEYRING}},
            "development",
        ),
        ({"privacy": {"pii_keys": key_entry(b"short")}}, "is not 32 bytes"),
        ({"gateway": {"webhook_secret": "sandbox-webhook-secret"}}, "is empty"),
        ({"gateway": {"webhook_secret": "s3cr3t"}}, "shorter than 32"),
        ({"gateway": {"webhook_secret": "ab" * 32}}, "too little randomness"),
        ({"gateway": {"webhook_secret": "a" * 64}}, "too little randomness"),
        ({"providers": {"allow_sandbox": False}}, "WALLET_GATEWAY_PROVIDER is the sandbox"),
        ({"providers": {"allow_sandbox": False}}, "WALLET_EMAIL_PROVIDER is the sandbox"),
        ({"providers": {"allow_sandbox": False}}, "WALLET_SMS_PROVIDER is the sandbox"),
        ({"providers": {"allow_sandbox": False}}, "WALLET_GATEWAY_PUBLISHABLE_KEY"),
        ({"providers": {"allow_sandbox": False}}, "WALLET_GATEWAY_TOKENIZE_URL is not https"),
        ({"auth": {"cookie_secure": False}}, "WALLET_COOKIE_SECURE is off"),
        ({"providers": {"gateway": "stripe"}}, "is not one of"),
        ({"merchants": {"webhook_allow_private_targets": True}}, "SSRF"),
        ({"audit": {"key": "development-audit-key-not-secret"}}, "WALLET_AUDIT_KEY is empty"),
        ({"audit": {"key": "short"}}, "WALLET_AUDIT_KEY is shorter"),
        ({"metrics": {"token": "development-metrics-token"}}, "WALLET_METRICS_TOKEN is empty"),
        ({"metrics": {"token": "prometheus"}}, "WALLET_METRICS_TOKEN is shorter"),
        ({"trusted_proxies": ("not-an-ip",)}, "WALLET_TRUSTED_PROXIES"),
    ],
)
def test_production_refuses_unsafe_settings(overrides: dict[str, object], complaint: str) -> None:
    with pytest.raises(RuntimeError, match="refusing to start") as refused:
        production(**overrides).check()
    assert complaint in str(refused.value)


def test_development_runs_on_the_sandboxes_and_development_key() -> None:
    Settings(database_url=None, redis_url=None).check()


def test_secure_cookies_are_the_production_default_with_the_host_prefix() -> None:
    assert production().secure_cookies
    assert production().session_cookie == SECURE_SESSION_COOKIE
    development = Settings(database_url=None, redis_url=None)
    assert not development.secure_cookies and development.session_cookie == SESSION_COOKIE
    assert development.replace(auth={"cookie_secure": True}).session_cookie == SECURE_SESSION_COOKIE


def test_entropy_estimate_ranks_random_above_patterned() -> None:
    assert estimated_bits(secrets.token_hex(32)) > 200
    assert estimated_bits("ab" * 32) == pytest.approx(64)
    assert estimated_bits("") == 0
