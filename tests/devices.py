"""Test devices: each holds a P-256 key pair and answers the API's device challenge,
as the web app (WebCrypto) and the mobile app (Keystore / Secure Enclave) do."""

from __future__ import annotations

import base64
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

CHALLENGE = "mutation { deviceChallenge { challengeId nonce } }"


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class TestDevice:
    __test__ = False  # not a pytest test class

    def __init__(self) -> None:
        self._key = ec.generate_private_key(ec.SECP256R1())

    @property
    def public_key(self) -> bytes:
        return self._key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def sign(self, nonce: bytes) -> bytes:
        """Raw r||s, as WebCrypto returns it."""
        r, s = decode_dss_signature(self._key.sign(nonce, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    async def proof(self, http: httpx.AsyncClient) -> dict[str, Any]:
        """A fresh answer to a challenge from the server `http` talks to."""
        response = await http.post("/graphql", json={"query": CHALLENGE})
        challenge = response.json()["data"]["deviceChallenge"]
        nonce = base64.urlsafe_b64decode(challenge["nonce"] + "=" * (-len(challenge["nonce"]) % 4))
        return {
            "publicKey": b64url(self.public_key),
            "challengeId": challenge["challengeId"],
            "signature": b64url(self.sign(nonce)),
        }


# The device the helpers sign in from unless told otherwise (a user's usual device).
USUAL = TestDevice()
_BY_AGENT: dict[str, TestDevice] = {}


def device_for(agent: str) -> TestDevice:
    """One device per user agent string: the same browser signs in from the same key."""
    return _BY_AGENT.setdefault(agent, TestDevice())
