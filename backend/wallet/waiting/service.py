"""What waits for a contact until someone proves it is theirs: money sent to it before
they had a wallet (`transfers`), money requests (`requests`) and split-group invitations
(`splits`) addressed to it.

`users.verification` proves the contact and calls `hand_over` in its transaction; it
cannot import these domains itself, since they stand above users.
"""

from __future__ import annotations

from wallet.db.engine import Connection
from wallet.requests.service import attach_waiting
from wallet.splits.service import attach_waiting_invitations
from wallet.transfers.unclaimed import claim_for


async def hand_over(conn: Connection, user_id: int, contact: str) -> list[int]:
    """Give `user_id` what waits for `contact`, in the caller's transaction; the ids of
    the transfers claimed."""
    claimed = await claim_for(conn, user_id, contact)
    await attach_waiting(conn, user_id, contact)
    await attach_waiting_invitations(conn, user_id, contact)
    return claimed
