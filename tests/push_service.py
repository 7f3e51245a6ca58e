"""A browser and its push service, for Web Push tests: a real HTTP server on a loopback
port that records what is POSTed to each endpoint (answering 201, or what a test sets
per endpoint, e.g. 410 Gone), and a browser's subscription keys to decrypt it with."""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from tests.http_receiver import Receiver


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class PushService(Receiver):
    """Records (path, headers, body) of every request; answers `statuses[path]` or 201."""

    statuses: dict[str, int] = field(default_factory=dict)
    pushes: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        self.pushes.append((scope["path"], headers, body))
        status = self.statuses.get(scope["path"], 201)
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    def endpoint(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/push/{name}"

    def to(self, name: str) -> list[tuple[dict[str, str], bytes]]:
        return [(h, b) for path, h, b in self.pushes if path == f"/push/{name}"]


@dataclass
class Browser:
    """A browser's push subscription keys, made the way PushManager.subscribe makes them:
    a P-256 key pair (the public half is p256dh) and a 16-byte auth secret."""

    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    auth_secret: bytes = field(default_factory=lambda: secrets.token_bytes(16))

    @property
    def p256dh(self) -> str:
        return b64url(
            self.key.public_key().public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
            )
        )

    @property
    def auth(self) -> str:
        return b64url(self.auth_secret)

    def subscription(self, endpoint: str) -> dict[str, str]:
        return {"endpoint": endpoint, "p256dh": self.p256dh, "auth": self.auth}

    def decrypt(self, body: bytes) -> dict[str, Any]:
        """The JSON the service worker would get (RFC 8291, aes128gcm)."""
        plain = http_ece.decrypt(
            body, private_key=self.key, auth_secret=self.auth_secret, version="aes128gcm"
        )
        decoded: dict[str, Any] = json.loads(plain)
        return decoded


def verify_vapid(authorization: str, public_key: str) -> dict[str, Any]:
    """Check an RFC 8292 `Authorization: vapid t=<jwt>, k=<key>` header: the key is
    `public_key` and the JWT's ES256 signature verifies with it. Returns the claims."""
    scheme, _, params = authorization.partition(" ")
    assert scheme == "vapid", authorization
    parts = dict(p.strip().split("=", 1) for p in params.split(","))
    assert parts["k"] == public_key
    header_b64, claims_b64, signature_b64 = parts["t"].split(".")
    assert json.loads(b64url_decode(header_b64)) == {"typ": "JWT", "alg": "ES256"}
    signature = b64url_decode(signature_b64)
    assert len(signature) == 64  # JOSE: r || s, 32 bytes each
    der = encode_dss_signature(
        int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    )
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64url_decode(public_key))
    try:
        key.verify(der, f"{header_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise AssertionError("the VAPID JWT does not verify against the public key") from None
    claims: dict[str, Any] = json.loads(b64url_decode(claims_b64))
    return claims
