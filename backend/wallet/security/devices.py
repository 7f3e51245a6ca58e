"""Devices a user signs in from.

A device is known by the key the mobile app sends (`X-Device-Key`), or, for a browser,
by its user agent. Signing in from a device not seen before records it and alerts the
user (in the app and by email, through the outbox); every sign-in updates its last use.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime

from wallet.db.engine import transaction
from wallet.outbox.service import Topic, emit

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


def device_label(user_agent: str, device_key: str | None = None) -> str:
    """A name a person recognises: "Chrome on Linux", "Wallet app"."""
    if device_key:
        return "Wallet app"
    browser = next((name for token, name in _BROWSERS if token in user_agent), "A browser")
    if "HeadlessChrome" in user_agent:
        browser = "Chrome"
    system = next((name for token, name in _SYSTEMS if token in user_agent), None)
    return f"{browser} on {system}" if system else browser


def fingerprint(user_agent: str, device_key: str | None = None) -> str:
    if device_key and re.fullmatch(r"[A-Za-z0-9_-]{16,128}", device_key):
        return "key:" + hashlib.sha256(device_key.encode()).hexdigest()
    return "ua:" + hashlib.sha256(user_agent.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Device:
    id: int
    label: str
    first_seen: datetime
    last_seen: datetime
    last_ip: str | None


async def record_sign_in(
    user_id: int, user_agent: str, device_key: str | None, ip: str | None
) -> bool:
    """Note the sign-in; True when the device is new and not the account's first (the
    user is alerted, and the session must prove a second factor before money leaves)."""
    label = device_label(user_agent, device_key)
    async with transaction() as conn:
        row = await conn.fetchrow(
            "INSERT INTO user_device (user_id, fingerprint, label, last_ip) "
            "VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, fingerprint) DO UPDATE "
            "SET last_seen = now(), last_ip = EXCLUDED.last_ip "
            "RETURNING id, (xmax = 0) AS inserted",
            user_id,
            fingerprint(user_agent, device_key),
            label,
            ip,
        )
        known_before = await conn.fetchval(
            "SELECT count(*) > 1 FROM user_device WHERE user_id = $1", user_id
        )
        # The very first device is where the account was made: no alert for that one.
        unfamiliar = bool(row["inserted"]) and bool(known_before)
        if unfamiliar:
            await emit(
                conn,
                Topic.DEVICE_NEW,
                {"user_id": user_id, "device_id": int(row["id"]), "label": label, "ip": ip},
            )
        return unfamiliar


async def devices_of(user_id: int) -> list[Device]:
    async with transaction() as conn:
        rows = await conn.fetch(
            "SELECT id, label, first_seen, last_seen, last_ip FROM user_device "
            "WHERE user_id = $1 ORDER BY last_seen DESC",
            user_id,
        )
    return [
        Device(int(r["id"]), r["label"], r["first_seen"], r["last_seen"], r["last_ip"])
        for r in rows
    ]


async def forget_device(user_id: int, device_id: int) -> bool:
    async with transaction() as conn:
        gone = await conn.fetchval(
            "DELETE FROM user_device WHERE id = $1 AND user_id = $2 RETURNING id",
            device_id,
            user_id,
        )
    return gone is not None
