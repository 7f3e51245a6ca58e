"""Passkeys (WebAuthn, with py_webauthn): register, then use as a login factor or for
step-up (docs/security.md).

Each ceremony's challenge lives in Redis for five minutes and is taken once (GETDEL), so
an assertion cannot be replayed; the authenticator's signature counter is checked and
stored (a clone that goes backwards is refused by py_webauthn).
"""

from __future__ import annotations

import ipaddress
import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit, urlunsplit

from redis.asyncio import Redis
from webauthn import (
    base64url_to_bytes,
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers.exceptions import InvalidAuthenticationResponse, InvalidRegistrationResponse
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from wallet.db.engine import connection, transaction

CHALLENGE_SECONDS = 300


class PasskeyError(Exception):
    pass


class WrongHostForPasskeys(PasskeyError):
    """The page is on an address passkeys cannot work on; `url` is one where they do."""

    def __init__(self, url: str, why: str = "") -> None:
        super().__init__(f"Passkeys need {url}{why}. Open the wallet there to use them.")
        self.url = url


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _with_host(origin: str, host: str) -> str:
    parts = urlsplit(origin)
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    return urlunsplit((parts.scheme or "http", netloc, "", "", ""))


@dataclass(frozen=True, slots=True)
class RelyingParty:
    """Who the credentials are for: the site's domain (no port, no IP address) and the
    origins allowed to use them. With no origins configured, the request's own origin is
    accepted when its host is the relying party's id (development on any port)."""

    id: str
    name: str
    origins: tuple[str, ...] = ()

    def origins_for(self, request_origin: str | None) -> list[str]:
        if self.origins:
            return list(self.origins)
        if request_origin and urlsplit(request_origin).hostname == self.id:
            return [request_origin]
        raise self._elsewhere(request_origin)

    def check_origin(self, request_origin: str | None) -> None:
        """Refuse, in plain words and before any ceremony starts, a page on an address
        these passkeys cannot work on (no origin: a native client, checked at the end)."""
        if request_origin is None:
            return
        if self.origins:
            if request_origin not in self.origins:
                raise WrongHostForPasskeys(self.origins[0])
        elif urlsplit(request_origin).hostname != self.id:
            raise self._elsewhere(request_origin)

    def _elsewhere(self, request_origin: str | None) -> WrongHostForPasskeys:
        if request_origin:
            return WrongHostForPasskeys(_with_host(request_origin, self.id))
        return WrongHostForPasskeys(f"the site {self.id}")


def relying_party_for(
    request_origin: str | None,
    *,
    configured_id: str | None,
    name: str,
    origins: tuple[str, ...],
    follow_host: bool,
) -> RelyingParty:
    """The relying party for a ceremony started from `request_origin`.

    Configured (`WALLET_WEBAUTHN_RP_ID`), or in production: that one, always (a relying
    party that followed the Host header would let a look-alike site proxying the API
    make passkeys for itself). In development, with none configured: the host the page
    is served from, so the app works on `localhost` or any dev domain; an IP address
    is refused in plain words, since browsers refuse one as a relying party."""
    if configured_id is None and follow_host and request_origin:
        host = urlsplit(request_origin).hostname
        if host and _is_ip(host):
            raise WrongHostForPasskeys(
                _with_host(request_origin, "localhost"),
                ": browsers do not allow them on an IP address such as " + host,
            )
        if host:
            return RelyingParty(host, name, ())
    rp = RelyingParty(configured_id or "localhost", name, origins)
    rp.check_origin(request_origin)
    return rp


@dataclass(frozen=True, slots=True)
class Assertion:
    """A checked passkey answer: whose passkey, and since when it was registered."""

    user_id: int
    passkey_created_at: datetime


@dataclass(frozen=True, slots=True)
class Passkey:
    id: int
    label: str
    created_at: datetime
    last_used_at: datetime | None


def _key(purpose: str, token: str) -> str:
    return f"webauthn:{purpose}:{token}"


async def registration_options(redis: Redis, rp: RelyingParty, user_id: int, username: str) -> str:
    """Options for `navigator.credentials.create` (JSON)."""
    async with connection() as conn:
        existing = await conn.fetch(
            "SELECT credential_id FROM user_passkey WHERE user_id = $1", user_id
        )
    options = generate_registration_options(
        rp_id=rp.id,
        rp_name=rp.name,
        user_name=username,
        user_id=f"wallet-user-{user_id}".encode(),
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=[
            PublicKeyCredentialDescriptor(id=bytes(r["credential_id"])) for r in existing
        ],
    )
    await redis.set(_key("register", str(user_id)), options.challenge, ex=CHALLENGE_SECONDS)
    return options_to_json(options)


async def register(
    redis: Redis,
    rp: RelyingParty,
    user_id: int,
    credential_json: str,
    label: str,
    request_origin: str | None,
) -> Passkey:
    challenge = await redis.getdel(_key("register", str(user_id)))
    if challenge is None:
        raise PasskeyError("That took too long; start again")
    try:
        verified = verify_registration_response(
            credential=credential_json,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=rp.origins_for(request_origin),
        )
        transports = json.loads(credential_json).get("response", {}).get("transports", [])
    except (InvalidRegistrationResponse, ValueError, TypeError, AttributeError) as exc:
        raise PasskeyError(f"The passkey could not be checked: {exc}") from None
    name = " ".join(label.split())[:60] or "Passkey"
    async with transaction() as conn:
        row = await conn.fetchrow(
            "INSERT INTO user_passkey (user_id, credential_id, public_key, sign_count, "
            "transports, label) VALUES ($1, $2, $3, $4, $5, $6) "
            "ON CONFLICT (credential_id) DO NOTHING RETURNING id, label, created_at, last_used_at",
            user_id,
            verified.credential_id,
            verified.credential_public_key,
            verified.sign_count,
            [str(t) for t in transports][:8],
            name,
        )
    if row is None:
        raise PasskeyError("This passkey is already registered")
    return Passkey(int(row["id"]), row["label"], row["created_at"], row["last_used_at"])


async def authentication_options(
    redis: Redis, rp: RelyingParty, user_id: int | None = None
) -> tuple[str, str]:
    """(challenge id, options for `navigator.credentials.get`). Without a user, any of
    the site's passkeys may answer (discoverable credentials: sign in with no username)."""
    allowed: list[PublicKeyCredentialDescriptor] = []
    if user_id is not None:
        async with connection() as conn:
            rows = await conn.fetch(
                "SELECT credential_id, transports FROM user_passkey WHERE user_id = $1", user_id
            )
        if not rows:
            raise PasskeyError("You have no passkey yet")
        allowed = [
            PublicKeyCredentialDescriptor(
                id=bytes(r["credential_id"]),
                transports=[
                    AuthenticatorTransport(t)
                    for t in r["transports"]
                    if t in AuthenticatorTransport._value2member_map_
                ],
            )
            for r in rows
        ]
    options = generate_authentication_options(
        rp_id=rp.id,
        allow_credentials=allowed,
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    challenge_id = secrets.token_urlsafe(24)
    await redis.set(
        _key("authenticate", challenge_id),
        json.dumps({"challenge": options.challenge.hex(), "user_id": user_id}),
        ex=CHALLENGE_SECONDS,
    )
    return challenge_id, options_to_json(options)


async def authenticate(
    redis: Redis,
    rp: RelyingParty,
    challenge_id: str,
    credential_json: str,
    request_origin: str | None,
    *,
    expected_user: int | None = None,
) -> Assertion:
    """Check an assertion against its challenge (once); whose passkey answered."""
    stored = await redis.getdel(_key("authenticate", challenge_id))
    if stored is None:
        raise PasskeyError("That took too long; start again")
    ceremony = json.loads(stored)
    try:
        raw_id = base64url_to_bytes(json.loads(credential_json)["rawId"])
    except (ValueError, KeyError, TypeError):
        raise PasskeyError("That is not a passkey answer") from None
    async with transaction() as conn:
        row = await conn.fetchrow(
            "SELECT id, user_id, public_key, sign_count, created_at FROM user_passkey "
            "WHERE credential_id = $1 FOR UPDATE",
            raw_id,
        )
        wanted = expected_user if expected_user is not None else ceremony["user_id"]
        if row is None or (wanted is not None and int(row["user_id"]) != wanted):
            raise PasskeyError("This passkey is not registered here")
        try:
            verified = verify_authentication_response(
                credential=credential_json,
                expected_challenge=bytes.fromhex(ceremony["challenge"]),
                expected_rp_id=rp.id,
                expected_origin=rp.origins_for(request_origin),
                credential_public_key=bytes(row["public_key"]),
                credential_current_sign_count=int(row["sign_count"]),
            )
        except (InvalidAuthenticationResponse, ValueError, TypeError) as exc:
            raise PasskeyError(f"The passkey could not be checked: {exc}") from None
        await conn.execute(
            "UPDATE user_passkey SET sign_count = $2, last_used_at = now() WHERE id = $1",
            row["id"],
            verified.new_sign_count,
        )
    return Assertion(int(row["user_id"]), row["created_at"])


async def passkeys_of(user_id: int) -> list[Passkey]:
    async with connection() as conn:
        rows = await conn.fetch(
            "SELECT id, label, created_at, last_used_at FROM user_passkey WHERE user_id = $1 "
            "ORDER BY id",
            user_id,
        )
    return [Passkey(int(r["id"]), r["label"], r["created_at"], r["last_used_at"]) for r in rows]


async def remove(user_id: int, passkey_id: int) -> bool:
    async with transaction() as conn:
        removed = await conn.fetchval(
            "DELETE FROM user_passkey WHERE id = $1 AND user_id = $2 RETURNING id",
            passkey_id,
            user_id,
        )
    return removed is not None
