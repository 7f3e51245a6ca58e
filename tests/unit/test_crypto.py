"""Field encryption: AES-GCM with key ids, bound to its place, rotatable."""

import pytest

from wallet.notifications.push import new_vapid_private_key
from wallet.security.crypto import DEVELOPMENT_KEYRING, DecryptionError, Keyring


def test_values_round_trip_and_are_bound_to_their_place() -> None:
    ring = Keyring.parse(DEVELOPMENT_KEYRING)
    sealed = ring.encrypt("1990-04-01", "user:7:dob")
    assert sealed.startswith("v1.dev.") and "1990" not in sealed
    assert ring.encrypt("1990-04-01", "user:7:dob") != sealed  # a fresh nonce each time
    assert ring.decrypt(sealed, "user:7:dob") == "1990-04-01"
    with pytest.raises(DecryptionError):
        ring.decrypt(sealed, "user:8:dob")  # copied to someone else's row
    tampered = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    with pytest.raises(DecryptionError):
        ring.decrypt(tampered, "user:7:dob")
    with pytest.raises(DecryptionError):
        ring.decrypt("plain text", "user:7:dob")


def test_rotation_keeps_old_values_readable_until_re_encrypted() -> None:
    old = Keyring.parse(DEVELOPMENT_KEYRING)
    sealed = old.encrypt("AB123456", "user:1:id_number")
    rotated = Keyring.parse(Keyring.new_key_entry("k2") + "," + DEVELOPMENT_KEYRING)
    assert rotated.current == "k2"
    assert rotated.needs_rotation(sealed)
    assert rotated.decrypt(sealed, "user:1:id_number") == "AB123456"
    again = rotated.encrypt(rotated.decrypt(sealed, "user:1:id_number"), "user:1:id_number")
    assert not rotated.needs_rotation(again)
    retired = Keyring.parse(Keyring.new_key_entry("k2"))
    with pytest.raises(DecryptionError, match="no key"):
        retired.decrypt(sealed, "user:1:id_number")


@pytest.mark.parametrize("text", ["", "nokey", "a:short", "bad id:" + "A" * 43])
def test_bad_keyrings_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        Keyring.parse(text)


def test_production_refuses_the_development_keys() -> None:
    from wallet.config import Settings

    production = Settings(database_url=None, redis_url=None).replace(
        environment="production",
        gateway={
            "webhook_secret": "d8c1f0b2a9e34c7d8e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d"
        },
        audit={"key": "0f9e8d7c6b5a49382716a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"},
        metrics={"token": "6c1d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d"},
        notifications={"vapid_private_key": new_vapid_private_key()},
        providers={"allow_sandbox": True},
        auth={"webauthn_rp_id": "wallet.example.com"},
    )
    with pytest.raises(RuntimeError, match="WALLET_PII_KEYS"):
        production.check()
    production.replace(privacy={"pii_keys": Keyring.new_key_entry("k1")}).check()
