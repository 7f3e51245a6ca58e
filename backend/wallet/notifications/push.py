"""Web Push: the provider interface, the VAPID adapter, and its sandbox.

A browser subscribes with our VAPID public key and hands us its push service's endpoint
with the keys to encrypt to (p256dh, auth). The adapter encrypts each message to them
(RFC 8291, aes128gcm, pywebpush) and signs a VAPID JWT (RFC 8292) for the endpoint's
origin. Endpoints are user input: they are called through the SSRF guard. An endpoint
answering 404 or 410 is gone for good (the browser unsubscribed): `PushGone`.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from dataclasses import asdict, dataclass
from typing import Protocol
from urllib.parse import urlsplit

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02
from pywebpush import WebPusher, WebPushException
from redis.asyncio import Redis

from wallet.notifications.sent_box import SentBox
from wallet.security.crypto import Keyring
from wallet.security.egress import GuardedClient, TargetRefused

SANDBOX_PUSH_KEY = "sandbox:push:sent"
# Push services refuse payloads over 4 KiB; ours are a title, a line and a path.
MAX_PAYLOAD_BYTES = 3000


@dataclass(frozen=True, slots=True)
class PushTarget:
    """A browser's subscription (what PushSubscription.toJSON() gives)."""

    endpoint: str
    p256dh: str
    auth: str


@dataclass(frozen=True, slots=True)
class PushMessage:
    """What the service worker shows: a title, a line, the app path a tap opens."""

    title: str
    body: str
    url: str
    tag: str | None = None  # the notification id: a repeat replaces, never stacks

    def payload(self) -> bytes:
        data = json.dumps(asdict(self), separators=(",", ":")).encode()
        if len(data) > MAX_PAYLOAD_BYTES:
            raise ValueError("push payload too large")
        return data


class PushGone(Exception):
    """The subscription no longer exists (404/410): delete it."""

    def __init__(self, endpoint: str, status: int) -> None:
        super().__init__(f"push endpoint gone ({status})")
        self.endpoint = endpoint
        self.status = status


class PushFailed(Exception):
    """The push service refused or could not be reached; the subscription may still work."""

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class PushProvider(Protocol):
    async def send(self, target: PushTarget, message: PushMessage) -> str:
        """Deliver `message` to `target`; return an id, or raise `PushGone`/`PushFailed`."""
        ...


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    """Strictly: a character outside the base64url alphabet is a ValueError (binascii's
    default quietly drops it, so junk after a valid key would pass)."""
    return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)


def new_vapid_private_key() -> str:
    """A fresh VAPID private key, in the form WALLET_VAPID_PRIVATE_KEY takes."""
    key = ec.generate_private_key(ec.SECP256R1())
    return b64url(key.private_numbers().private_value.to_bytes(32, "big"))


def vapid_public_key(private_key: str) -> str:
    """The applicationServerKey browsers subscribe with: the uncompressed P-256 point of
    `private_key` (raw scalar, base64url), base64url."""
    scalar = int.from_bytes(b64url_decode(private_key), "big")
    public = ec.derive_private_key(scalar, ec.SECP256R1()).public_key()
    point = public.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return b64url(point)


def check_target(target: PushTarget) -> None:
    """Refuse a subscription whose keys cannot be encrypted to (ValueError)."""
    # A P-256 point is 87 characters of base64url and the secret 22; padding may follow.
    if len(target.p256dh) > 90 or len(target.auth) > 25:
        raise ValueError("the subscription's keys are too long")
    try:
        point = b64url_decode(target.p256dh)
        auth = b64url_decode(target.auth)
    except (ValueError, TypeError):
        raise ValueError("the subscription's keys are not base64url") from None
    if len(point) != 65 or point[0] != 4:
        raise ValueError("p256dh is not an uncompressed P-256 public key")
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError:
        raise ValueError("p256dh is not a point on P-256") from None
    if len(auth) != 16:
        raise ValueError("auth is not a 16-byte secret")


class WebPushProvider:
    """Encrypts with pywebpush, signs with VAPID, POSTs through the SSRF-guarded client."""

    def __init__(
        self,
        client: GuardedClient,
        *,
        private_key: str,
        subject: str,
        ttl_seconds: int = 86_400,
    ) -> None:
        self._client = client
        self._vapid = Vapid02.from_string(private_key)
        self._subject = subject
        self._ttl = ttl_seconds

    def _headers(self, endpoint: str) -> dict[str, str]:
        parts = urlsplit(endpoint)
        claims: dict[str, str | int] = {
            "aud": f"{parts.scheme}://{parts.netloc}",
            "sub": self._subject,
            # RFC 8292: at most 24 hours ahead.
            "exp": int(time.time()) + 12 * 60 * 60,
        }
        signed: dict[str, str] = self._vapid.sign(claims)
        return {
            **signed,
            "TTL": str(self._ttl),
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "Urgency": "normal",
        }

    async def send(self, target: PushTarget, message: PushMessage) -> str:
        subscription = {
            "endpoint": target.endpoint,
            "keys": {"p256dh": target.p256dh, "auth": target.auth},
        }
        try:
            body = WebPusher(subscription).encode(message.payload(), "aes128gcm")["body"]
        except (WebPushException, ValueError) as exc:
            raise PushFailed(f"cannot encrypt to this subscription: {exc}") from None
        try:
            response = await self._client.post(
                target.endpoint, content=body, headers=self._headers(target.endpoint)
            )
        except TargetRefused as exc:
            raise PushFailed(f"endpoint refused: {exc}") from None
        except httpx.HTTPError as exc:
            raise PushFailed(f"push service unreachable: {type(exc).__name__}") from None
        if response.status_code in (404, 410):
            raise PushGone(target.endpoint, response.status_code)
        if response.status_code >= 300:
            raise PushFailed("push service refused", response.status_code)
        return response.headers.get("location") or "push_" + secrets.token_hex(8)


class SandboxPushProvider:
    """Sends nothing; keeps each message for a day (the dev Inbox reads it). Like a real
    push service, an endpoint whose path ends in `/gone` answers 410."""

    def __init__(self, redis: Redis, *, keyring: Keyring | None = None) -> None:
        self._box = SentBox(redis, SANDBOX_PUSH_KEY, keyring=keyring)

    async def send(self, target: PushTarget, message: PushMessage) -> str:
        if urlsplit(target.endpoint).path.endswith("/gone"):
            raise PushGone(target.endpoint, 410)
        message_id = "push_" + secrets.token_hex(8)
        record = {"id": message_id, "to": target.endpoint, "sent_at": time.time()}
        await self._box.put(message_id, {**record, **asdict(message)})
        return message_id

    async def sent_to(self, endpoint: str) -> list[dict[str, object]]:
        return [r for r in await self._box.records() if r["to"] == endpoint]
