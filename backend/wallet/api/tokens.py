"""Where a request's credential is: `Authorization: Bearer …` (mobile apps, merchant API
keys) or the session cookie (the web app), for GraphQL and plain HTTP routes alike."""

from __future__ import annotations

from collections.abc import Mapping

from wallet.config import Settings


def request_token(
    headers: Mapping[str, str], cookies: Mapping[str, str], settings: Settings
) -> str | None:
    scheme, _, credentials = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return cookies.get(settings.session_cookie) or None
