"""KYB-lite: operators approve or reject merchants before any settlement to a bank.

A merchant opens `pending`. It may take wallet payments at once (the money stays in
its payable, inside the platform, where refunds can reach it), but the settlement job
pays out only `approved` merchants. A rejection also cancels its open payment requests
and it takes no new ones. Every decision records who made it, when and why (and, as a
mutation, is in the audit log); the owner is told the outcome, not the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from wallet.aml import cases as aml_cases
from wallet.db.engine import connection, transaction
from wallet.merchants.errors import (
    AlreadyDecided,
    InvalidMerchantDetails,
    MerchantNotFound,
    OwnerSanctionsMatchOpen,
)
from wallet.outbox.service import Topic, emit


class Decision(Enum):
    APPROVE = "approved"
    REJECT = "rejected"


@dataclass(frozen=True, slots=True)
class Application:
    """A merchant as an operator reviews it: its business profile and its owner."""

    merchant_id: int
    name: str
    mcc: str
    country: str
    city: str
    legal_name: str | None
    registration_number: str | None
    sole_trader: bool
    business_address: str | None
    website: str | None
    description: str
    owner_username: str
    owner_verification_level: str
    status: str
    reason: str | None
    created_at: datetime


_SELECT = """
    SELECT m.id, m.name, m.mcc, m.country, m.city, m.legal_name, m.registration_number,
           m.sole_trader, m.business_address, m.website, m.business_description,
           u.username, u.verification_level, m.approval_status, m.approval_reason,
           m.created_at
    FROM merchant m JOIN app_user u ON u.id = m.owner_user_id
"""


def _application(row: object) -> Application:
    r = dict(row)  # type: ignore[call-overload]
    return Application(
        merchant_id=int(r["id"]),
        name=r["name"],
        mcc=r["mcc"],
        country=r["country"],
        city=r["city"],
        legal_name=r["legal_name"],
        registration_number=r["registration_number"],
        sole_trader=r["sole_trader"],
        business_address=r["business_address"],
        website=r["website"],
        description=r["business_description"],
        owner_username=r["username"],
        owner_verification_level=r["verification_level"],
        status=r["approval_status"],
        reason=r["approval_reason"],
        created_at=r["created_at"],
    )


async def pending(first: int = 50) -> list[Application]:
    """Merchants waiting for a decision, oldest first."""
    async with connection() as conn:
        rows = await conn.fetch(
            f"{_SELECT} WHERE m.approval_status = 'pending' ORDER BY m.id LIMIT $1",
            max(1, min(first, 200)),
        )
    return [_application(r) for r in rows]


async def decide(
    merchant_id: int, operator_id: int, decision: Decision, reason: str
) -> Application:
    """Approve or reject a merchant (a pending one, or reverse an earlier decision).

    Under the merchant's row lock, so a settlement batch being made waits for it and
    sees the decision that won.
    """
    reason = reason.strip()
    if not 3 <= len(reason) <= 500:
        raise InvalidMerchantDetails("reason", "Say why, in 3 to 500 characters")
    async with transaction() as conn:
        row = await conn.fetchrow(
            "SELECT approval_status, owner_user_id, name FROM merchant WHERE id = $1 FOR UPDATE",
            merchant_id,
        )
        if row is None:
            raise MerchantNotFound()
        if row["approval_status"] == decision.value:
            raise AlreadyDecided(decision.value)
        if decision is Decision.APPROVE:
            # KYB is a decision about the owner too: it waits for a sanctions match to be
            # cleared, as the owner's KYC approval does (locked the same way).
            await aml_cases.lock_person(conn, int(row["owner_user_id"]))
            match = await aml_cases.open_sanctions_case(conn, int(row["owner_user_id"]))
            if match is not None:
                raise OwnerSanctionsMatchOpen(match)
        decided_at = await conn.fetchval(
            "UPDATE merchant SET approval_status = $2, approval_reason = $3, "
            "approval_decided_by = $4, approval_decided_at = now() WHERE id = $1 "
            "RETURNING approval_decided_at",
            merchant_id,
            decision.value,
            reason,
            operator_id,
        )
        if decision is Decision.REJECT:
            await conn.execute(
                "UPDATE payment_request SET status = 'cancelled' "
                "WHERE merchant_id = $1 AND status = 'open'",
                merchant_id,
            )
        title, body = {
            Decision.APPROVE: (
                f"{row['name']} is approved",
                "Your shop is approved: its takings are now paid out to your bank account "
                "on its settlement schedule.",
            ),
            Decision.REJECT: (
                f"{row['name']} was not approved",
                "We could not approve your shop, so it cannot take payments. Its balance "
                "stays safe with us; contact support to talk about it.",
            ),
        }[decision]
        await emit(
            conn,
            Topic.NOTICE,
            {
                "user_id": row["owner_user_id"],
                "kind": "merchant",
                "title": title,
                "body": body,
                "dedupe_key": f"merchant:{merchant_id}:{decision.value}:{decided_at.isoformat()}",
            },
        )
        decided = await conn.fetchrow(f"{_SELECT} WHERE m.id = $1", merchant_id)
    return _application(decided)
