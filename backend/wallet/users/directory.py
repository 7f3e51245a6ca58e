"""Users as operators look them up: by username, and the usernames of ids (closed
accounts included: the ledger still holds their history)."""

from __future__ import annotations

from collections.abc import Sequence

from piccolo.query.functions import Lower

from wallet.users.tables import AppUser


async def ids_by_username(username: str) -> list[int]:
    """The user with this username, any case, with or without its "@" (through the
    unique index on `lower(username)`): none or one id."""
    wanted = username.strip().removeprefix("@").lower()
    if not wanted:
        return []
    rows = await AppUser.select(AppUser.id).where(Lower(AppUser.username) == wanted)
    return [int(r["id"]) for r in rows]


async def usernames(user_ids: Sequence[int]) -> dict[int, str]:
    """User id -> username, for the ids that exist."""
    if not user_ids:
        return {}
    rows = await AppUser.select(AppUser.id, AppUser.username).where(
        AppUser.id.is_in(list(user_ids))
    )
    return {int(r["id"]): r["username"] for r in rows}
