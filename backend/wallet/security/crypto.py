"""Field encryption for personal data at rest: AES-256-GCM with key ids, for rotation.

A ciphertext is `v1.<key id>.<base64url(nonce | ciphertext+tag)>`; the key id says which
key decrypts it, so keys can be rotated: new writes use the first key of the keyring,
old values still decrypt with the others until `wallet security rotate-keys`
re-encrypts them. The associated data binds a value to its place (e.g. "user:12:dob"),
so a ciphertext copied to another row or column does not decrypt.
"""

from __future__ import annotations

import base64
import os
import secrets
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from wallet.config import DEVELOPMENT_PII_KEY

PREFIX = "v1"
# A well-known development key: production refuses to start with it.
DEVELOPMENT_KEYRING = "dev:" + base64.urlsafe_b64encode(DEVELOPMENT_PII_KEY).decode()


class DecryptionError(Exception):
    """The value is not ours, was tampered with, or its key is gone."""


@dataclass(frozen=True)
class Keyring:
    """Keys by id; the first is the one new values are encrypted with."""

    keys: dict[str, bytes]
    current: str

    @classmethod
    def parse(cls, text: str) -> Keyring:
        """`id:base64key,id:base64key` (first = current; each key 32 bytes)."""
        keys: dict[str, bytes] = {}
        order: list[str] = []
        for part in filter(None, (p.strip() for p in text.split(","))):
            key_id, _, encoded = part.partition(":")
            if not key_id.isalnum() or not encoded:
                raise ValueError("keyring entries are id:base64key")
            raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
            if len(raw) != 32:
                raise ValueError(f"key {key_id!r} must be 32 bytes (AES-256)")
            keys[key_id] = raw
            order.append(key_id)
        if not order:
            raise ValueError("the keyring is empty")
        return cls(keys, order[0])

    @staticmethod
    def new_key_entry(key_id: str) -> str:
        """A fresh `id:base64key` entry to put at the front of the keyring."""
        return f"{key_id}:{base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()}"

    def encrypt(self, plaintext: str, context: str) -> str:
        nonce = os.urandom(12)
        sealed = AESGCM(self.keys[self.current]).encrypt(
            nonce, plaintext.encode(), context.encode()
        )
        body = base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
        return f"{PREFIX}.{self.current}.{body}"

    def key_id_of(self, ciphertext: str) -> str:
        parts = ciphertext.split(".")
        if len(parts) != 3 or parts[0] != PREFIX:
            raise DecryptionError("not an encrypted value")
        return parts[1]

    def decrypt(self, ciphertext: str, context: str) -> str:
        key_id = self.key_id_of(ciphertext)
        key = self.keys.get(key_id)
        if key is None:
            raise DecryptionError(f"no key {key_id!r} in the keyring")
        encoded = ciphertext.split(".")[2]
        raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        try:
            return AESGCM(key).decrypt(raw[:12], raw[12:], context.encode()).decode()
        except InvalidTag:
            raise DecryptionError("the value was altered or belongs elsewhere") from None

    def needs_rotation(self, ciphertext: str) -> bool:
        return self.key_id_of(ciphertext) != self.current
