"""The process's field-encryption keyring, from WALLET_PII_KEYS (docs/security.md)."""

from __future__ import annotations

from functools import lru_cache

from wallet.config import get_settings
from wallet.security.crypto import DEVELOPMENT_KEYRING, Keyring


@lru_cache(maxsize=1)
def keyring() -> Keyring:
    return Keyring.parse(get_settings().privacy.pii_keys or DEVELOPMENT_KEYRING)


def uses_development_key() -> bool:
    return "dev" in keyring().keys
