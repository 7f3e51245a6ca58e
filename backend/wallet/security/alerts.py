"""Security alerts, and what enrolling a second factor does to the rest of the account.

An alert goes out on every channel the user has (in the app, by email, by SMS), whatever
their preferences: someone who took the account over must not be able to silence it.
Enrolling a factor also signs every other session out, so a session that slipped in
before the factor existed cannot stay behind it.
"""

from __future__ import annotations

import secrets

from wallet.auth.sessions import SessionStore
from wallet.db.engine import Connection, transaction
from wallet.outbox.service import Topic, emit


async def alert(conn: Connection, user_id: int, kind: str, title: str, body: str) -> None:
    """Queue a security alert to the user on every channel (in `conn`'s transaction)."""
    await emit(
        conn,
        Topic.NOTICE,
        {
            "user_id": user_id,
            "kind": kind,
            "title": title,
            "body": body,
            "sms": True,
            "dedupe_key": f"{kind}:{user_id}:{secrets.token_hex(8)}",
        },
    )


async def factor_enrolled(
    sessions: SessionStore, user_id: int, keep_token: str | None, factor: str
) -> int:
    """Sign out every other session and alert the user; how many sessions ended."""
    ended = await sessions.revoke_others(user_id, keep_token)
    async with transaction() as conn:
        await alert(
            conn,
            user_id,
            "factor_enrolled",
            f"{factor} added to your wallet",
            f"A new {factor.lower()} now protects your wallet, and your other sessions were "
            "signed out. If you did not do this, contact us at once.",
        )
    return ended


async def refresh_token_reused(user_id: int) -> None:
    """A mobile session's spent refresh token came back (wallet.auth.refresh) and the
    session was signed out: a copy of the token may exist, so the user hears of it."""
    async with transaction() as conn:
        await alert(
            conn,
            user_id,
            "refresh_token_reused",
            "A session was signed out to protect you",
            "A sign-in token of the wallet app was used twice, so a copy of it may exist: "
            "that session was signed out. Sign in again. If this was not you, change your "
            "password.",
        )
