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
from typing import Any

from wallet.aml import cases as aml_cases
from wallet.db.engine import transaction
from wallet.db.tables import database_now
from wallet.merchants.errors import (
    AlreadyDecided,
    InvalidMerchantDetails,
    MerchantNotFound,
    OwnerSanctionsMatchOpen,
)
from wallet.merchants.tables import Merchant as MerchantRow
from wallet.merchants.tables import PaymentRequest
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


def _applications() -> Any:
    """Merchants as applications, with their owner's username and verification level."""
    owner: Any = MerchantRow.owner_user_id
    return MerchantRow.select(
        MerchantRow.id,
        MerchantRow.name,
        MerchantRow.mcc,
        MerchantRow.country,
        MerchantRow.city,
        MerchantRow.legal_name,
        MerchantRow.registration_number,
        MerchantRow.sole_trader,
        MerchantRow.business_address,
        MerchantRow.website,
        MerchantRow.business_description,
        owner.username.as_alias("username"),
        owner.verification_level.as_alias("verification_level"),
        MerchantRow.approval_status,
        MerchantRow.approval_reason,
        MerchantRow.created_at,
    )


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
    rows = await (
        _applications()
        .where(MerchantRow.approval_status == "pending")
        .order_by(MerchantRow.id)
        .limit(max(1, min(first, 200)))
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
        row = (
            await MerchantRow.select(
                MerchantRow.approval_status, MerchantRow.owner_user_id, MerchantRow.name
            )
            .where(MerchantRow.id == merchant_id)
            .lock_rows("UPDATE")
            .first()
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
        [stamped] = (
            await MerchantRow.update(
                {
                    MerchantRow.approval_status: decision.value,
                    MerchantRow.approval_reason: reason,
                    MerchantRow.approval_decided_by: operator_id,
                    MerchantRow.approval_decided_at: database_now(),
                }
            )
            .where(MerchantRow.id == merchant_id)
            .returning(MerchantRow.approval_decided_at)
        )
        decided_at = stamped["approval_decided_at"]
        if decision is Decision.REJECT:
            await PaymentRequest.update({PaymentRequest.status: "cancelled"}).where(
                (PaymentRequest.merchant_id == merchant_id) & (PaymentRequest.status == "open")
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
        decided = await _applications().where(MerchantRow.id == merchant_id).first()
    return _application(decided)
