"""Devices a user signs in from, bound by a key pair the device holds.

Each client keeps a P-256 key pair whose private half cannot leave it (a WebCrypto
non-extractable key in the browser; a Keystore / Secure Enclave key on a phone). At
sign-in the server hands out a one-time challenge and the client signs it: the device is
then known by its public key's SHA-256 (`key:<hex>`), which no one can claim without the
private key. A sign-in without such a proof is recorded by its user agent (`ua:<hex>`,
for the list a person sees) but never counts as a device the user has used before.

A device is **trusted** once a session on it proved a second factor (or the password
plus an emailed code), and the account's first device is trusted from the start. A
session on an untrusted device is a "new device" session: money leaving needs a second
factor, and the user is alerted (docs/security.md, "Devices").
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from redis.asyncio import Redis

from wallet.db.engine import transaction
from wallet.db.tables import database_now
from wallet.identity.tables import AppUser
from wallet.outbox.service import Topic, emit
from wallet.security.tables import UserDevice

CHALLENGE_SECONDS = 300
_BROWSERS = (
    ("Edg/", "Edge"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
_SYSTEMS = (
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Android", "Android"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
)


class DeviceProofInvalid(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(f"The device could not prove itself: {reason}")


@dataclass(frozen=True, slots=True)
class DeviceProof:
    """A client's answer to a challenge: its public key (SPKI, DER) and its signature
    (ECDSA P-256 with SHA-256, raw r||s as WebCrypto makes it, or DER)."""

    public_key: bytes
    challenge_id: str
    signature: bytes

    @classmethod
    def decode(cls, public_key: str, challenge_id: str, signature: str) -> DeviceProof:
        try:
            return cls(_unb64(public_key), challenge_id, _unb64(signature))
        except (binascii.Error, ValueError):
            raise DeviceProofInvalid("not base64url") from None


@dataclass(frozen=True, slots=True)
class SignIn:
    """A recorded sign-in: the device row, its fingerprint, whether it is trusted."""

    device_id: int
    fingerprint: str
    trusted: bool


@dataclass(frozen=True, slots=True)
class Device:
    id: int
    label: str
    first_seen: datetime
    last_seen: datetime
    last_ip: str | None
    bound: bool
    trusted: bool


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _key(challenge_id: str) -> str:
    return f"device-challenge:{challenge_id}"


def device_label(user_agent: str, app: bool = False) -> str:
    """A name a person recognises: "Chrome on Linux", "Wallet app"."""
    if app or user_agent.startswith("WalletApp/"):
        return "Wallet app"
    browser = next((name for token, name in _BROWSERS if token in user_agent), "A browser")
    if "HeadlessChrome" in user_agent:
        browser = "Chrome"
    system = next((name for token, name in _SYSTEMS if token in user_agent), None)
    return f"{browser} on {system}" if system else browser


def key_fingerprint(public_key: bytes) -> str:
    return "key:" + hashlib.sha256(public_key).hexdigest()


def agent_fingerprint(user_agent: str) -> str:
    return "ua:" + hashlib.sha256(user_agent.encode()).hexdigest()


async def issue_challenge(redis: Redis) -> tuple[str, str]:
    """(challenge id, nonce as base64url) for a device to sign; usable once, 5 minutes."""
    challenge_id = secrets.token_urlsafe(18)
    nonce = secrets.token_bytes(32)
    await redis.set(_key(challenge_id), nonce, ex=CHALLENGE_SECONDS)
    return challenge_id, base64.urlsafe_b64encode(nonce).decode().rstrip("=")


async def verify(redis: Redis, proof: DeviceProof) -> str:
    """Check a proof against its challenge (taken once); the device's key fingerprint."""
    if not re.fullmatch(r"[A-Za-z0-9_-]{8,64}", proof.challenge_id):
        raise DeviceProofInvalid("unknown challenge")
    nonce = await redis.getdel(_key(proof.challenge_id))
    if nonce is None:
        raise DeviceProofInvalid("the challenge expired or was used")
    try:
        key = serialization.load_der_public_key(proof.public_key)
    except ValueError:
        raise DeviceProofInvalid("not a public key") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise DeviceProofInvalid("the key must be ECDSA P-256")
    signature = proof.signature
    if len(signature) == 64:  # WebCrypto's IEEE P1363 r||s
        signature = encode_dss_signature(
            int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        )
    try:
        key.verify(signature, bytes(nonce), ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        raise DeviceProofInvalid("the signature does not match") from None
    return key_fingerprint(proof.public_key)


async def record_sign_in(
    user_id: int,
    user_agent: str,
    proven_key: bytes | None,
    ip: str | None,
    *,
    app: bool = False,
) -> SignIn:
    """Note a sign-in from the device (bound by `proven_key`, a checked public key, or
    only described by its user agent). The account's first device is trusted; any other
    device that is not yet trusted alerts the user (in the app and by email, once)."""
    fingerprint = key_fingerprint(proven_key) if proven_key else agent_fingerprint(user_agent)
    label = device_label(user_agent, app)
    async with transaction() as conn:
        # Serialise one user's sign-ins, so "the first device" is decided once and the
        # look-up below cannot race another insert of the same device.
        await AppUser.select(AppUser.id).where(AppUser.id == user_id).lock_rows("UPDATE")
        first = not await UserDevice.exists().where(UserDevice.user_id == user_id)
        now = database_now()
        known = (
            await UserDevice.select(UserDevice.id, UserDevice.trusted_at)
            .where((UserDevice.user_id == user_id) & (UserDevice.fingerprint == fingerprint))
            .first()
        )
        if known is None:
            [row] = await UserDevice.insert(
                UserDevice(
                    user_id=user_id,
                    fingerprint=fingerprint,
                    label=label,
                    last_ip=ip,
                    public_key=proven_key,
                    trusted_at=now if first else None,
                )
            ).returning(UserDevice.id, UserDevice.trusted_at)
        else:
            row = known
            await UserDevice.update({UserDevice.last_seen: now, UserDevice.last_ip: ip}).where(
                UserDevice.id == known["id"]
            )
        # Only a device that proves its key can be recognised again.
        trusted = row["trusted_at"] is not None and (proven_key is not None or first)
        if not trusted and known is None:
            await emit(
                conn,
                Topic.DEVICE_NEW,
                {"user_id": user_id, "device_id": int(row["id"]), "label": label, "ip": ip},
            )
    return SignIn(int(row["id"]), fingerprint, trusted)


async def trust(user_id: int, device_id: int) -> bool:
    """Trust a key-bound device once a session on it proved a second factor."""
    async with transaction():
        bound = (UserDevice.id == device_id) & (UserDevice.user_id == user_id)
        bound &= UserDevice.public_key.is_not_null()
        row = await UserDevice.select(UserDevice.trusted_at).where(bound).lock_rows().first()
        if row is None:
            return False
        if row["trusted_at"] is None:
            await UserDevice.update({UserDevice.trusted_at: database_now()}).where(
                UserDevice.id == device_id
            )
    return True


async def is_trusted(user_id: int, fingerprint: str) -> bool:
    return await UserDevice.exists().where(
        (UserDevice.user_id == user_id)
        & (UserDevice.fingerprint == fingerprint)
        & UserDevice.trusted_at.is_not_null()
        & UserDevice.public_key.is_not_null()
    )


async def devices_of(user_id: int) -> list[Device]:
    rows = await (
        UserDevice.select(
            UserDevice.id,
            UserDevice.label,
            UserDevice.first_seen,
            UserDevice.last_seen,
            UserDevice.last_ip,
            UserDevice.public_key,
            UserDevice.trusted_at,
        )
        .where(UserDevice.user_id == user_id)
        .order_by(UserDevice.last_seen, ascending=False)
    )
    return [
        Device(
            int(r["id"]),
            r["label"],
            r["first_seen"],
            r["last_seen"],
            r["last_ip"],
            r["public_key"] is not None,
            r["trusted_at"] is not None,
        )
        for r in rows
    ]


async def forget_device(user_id: int, device_id: int) -> bool:
    async with transaction():
        gone = (
            await UserDevice.delete()
            .where((UserDevice.id == device_id) & (UserDevice.user_id == user_id))
            .returning(UserDevice.id)
        )
    return bool(gone)
