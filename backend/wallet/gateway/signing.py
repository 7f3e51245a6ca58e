"""Gateway callback authentication: HMAC-SHA256 over `timestamp.body`.

The header reads `t=<unix seconds>,v1=<hex digest>`. A callback is accepted only with a
valid digest and a timestamp within the tolerance, so a captured request cannot be
replayed later (and a replay inside the window is a duplicate event id, ignored).
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-Gateway-Signature"
TOLERANCE_SECONDS = 300


class InvalidSignature(Exception):
    pass


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def verify(secret: str, body: bytes, header: str | None, now: float | None = None) -> None:
    """Raise `InvalidSignature` unless `header` signs `body` with `secret`, recently."""
    if not header:
        raise InvalidSignature("missing signature")
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
        given = parts["v1"]
    except (KeyError, ValueError):
        raise InvalidSignature("malformed signature header") from None
    current = time.time() if now is None else now
    if abs(current - timestamp) > TOLERANCE_SECONDS:
        raise InvalidSignature("signature timestamp outside the tolerance")
    expected = sign(secret, body, timestamp).split("v1=", 1)[1]
    if not hmac.compare_digest(expected, given):
        raise InvalidSignature("signature does not match")
