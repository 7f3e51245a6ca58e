"""AML cases for compliance: review, escalate to a SAR draft, close; freeze wallets;
clear a possible sanctions match.

A SAR draft is a document (JSON) with the subject (identity from KYC, decrypted), the
activity (the transactions behind the case) and the officer's narrative. It is stored
with the case so what was filed can be shown later; filing with the regulator is done
outside the product.

A sanctions case is a possible match of the person's verified name with a listed name.
While it is open, KYC approval is refused and the person's wallet is frozen (as that
case's freeze); a compliance officer clears it, saying why it is not the listed person,
which lifts that freeze. A confirmed match is not closed: it stays open (escalated), so
the freeze and the refusal stay. Nothing the person is told names AML, sanctions or a
case (no tipping off): they hear that verifying them takes a little longer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from wallet.db.engine import Connection, connection, transaction
from wallet.outbox.service import Topic, emit
from wallet.security.keys import keyring


class CaseError(Exception):
    pass


class CaseNotFound(CaseError):
    def __init__(self) -> None:
        super().__init__("No such case, or it is closed")


class NotASanctionsMatch(CaseError):
    def __init__(self) -> None:
        super().__init__("Only a sanctions match is cleared; close other cases with a reason")


class SanctionsMatchNotClosed(CaseError):
    def __init__(self) -> None:
        super().__init__(
            "A sanctions match is not closed: clear it, saying why, when it is not the "
            "listed person; a confirmed match stays open (escalate it to a SAR draft)"
        )


SANCTIONS = "sanctions"
# What the person is told when a possible match stops money leaving, and when it is
# cleared: nothing about AML, sanctions or a case (tipping off is an offence).
WAIT_TITLE = "We need a little more time to verify you"
WAIT_BODY = (
    "Until then you cannot send or withdraw money. We will let you know as soon as we are done."
)
WAIT_OVER_TITLE = "Thanks for waiting"
WAIT_OVER_BODY = "You can send and withdraw money again."
# What operators see as the reason of a freeze a possible match made.
AUTOMATIC_FREEZE_REASON = "Automatic: possible sanctions match (case #{case_id}), until cleared"


@dataclass(frozen=True, slots=True)
class AmlCase:
    id: int
    user_id: int
    username: str
    wallet_status: str
    frozen_reason: str | None
    detector: str
    status: str
    summary: str
    evidence: dict[str, Any]
    closed_reason: str | None
    created_at: datetime
    has_sar: bool
    cleared_by: str | None = None
    cleared_at: datetime | None = None

    @property
    def blocks_approval(self) -> bool:
        """A possible sanctions match not cleared: KYC approval is refused."""
        return self.detector == SANCTIONS and self.status != "closed"


_SELECT = (
    "SELECT c.*, u.username, w.status AS wallet_status, w.frozen_reason, "
    "cb.username AS cleared_by_username, "
    "EXISTS (SELECT 1 FROM aml_sar s WHERE s.case_id = c.id) AS has_sar "
    "FROM aml_case c JOIN app_user u ON u.id = c.user_id JOIN wallet w ON w.user_id = c.user_id "
    "LEFT JOIN app_user cb ON cb.id = c.cleared_by "
)


def _case(row: Any) -> AmlCase:
    return AmlCase(
        id=int(row["id"]),
        user_id=int(row["user_id"]),
        username=row["username"],
        wallet_status=row["wallet_status"],
        frozen_reason=row["frozen_reason"],
        detector=row["detector"],
        status=row["status"],
        summary=row["summary"],
        evidence=json.loads(row["evidence"]),
        closed_reason=row["closed_reason"],
        created_at=row["created_at"],
        has_sar=bool(row["has_sar"]),
        cleared_by=row["cleared_by_username"],
        cleared_at=row["cleared_at"],
    )


async def cases(include_closed: bool = False, first: int = 100) -> list[AmlCase]:
    where = "" if include_closed else "WHERE c.status <> 'closed' "
    async with connection() as conn:
        rows = await conn.fetch(_SELECT + where + "ORDER BY c.created_at, c.id LIMIT $1", first)
    return [_case(r) for r in rows]


async def cases_of(user_ids: list[int]) -> dict[int, list[AmlCase]]:
    """For a KYC decision: each person's live cases, and the sanctions matches cleared
    for them (who cleared, when, why), oldest first."""
    async with connection() as conn:
        rows = await conn.fetch(
            _SELECT + "WHERE c.user_id = ANY($1::bigint[]) "
            "AND (c.status <> 'closed' OR c.cleared_at IS NOT NULL) ORDER BY c.created_at, c.id",
            user_ids,
        )
    found: dict[int, list[AmlCase]] = {}
    for row in rows:
        found.setdefault(int(row["user_id"]), []).append(_case(row))
    return found


async def open_sanctions_case(conn: Connection, user_id: int) -> int | None:
    """The person's possible sanctions match not yet cleared, if any. Callers that act
    on the answer lock the person first (`lock_person`), as opening a case does."""
    found = await conn.fetchval(
        "SELECT id FROM aml_case WHERE user_id = $1 AND detector = 'sanctions' "
        "AND status <> 'closed' ORDER BY id LIMIT 1",
        user_id,
    )
    return None if found is None else int(found)


async def lock_person(conn: Connection, user_id: int) -> None:
    """Serialise opening a sanctions case with a KYC decision on the same person, so an
    approval either sees the case or comes before it (and the case then freezes the
    wallet). NO KEY UPDATE: rows that merely reference the user (a transfer being
    written) take KEY SHARE and do not wait for it."""
    await conn.execute("SELECT 1 FROM app_user WHERE id = $1 FOR NO KEY UPDATE", user_id)


async def restrict(conn: Connection, user_id: int, case_id: int) -> bool:
    """A possible sanctions match stops money leaving the person's wallet until it is
    cleared: an active wallet, or one restricted for a chargeback debt (which would be
    free again once the debt is repaid), is frozen as this case's freeze, and the person
    is told only that verifying them takes longer. A wallet already frozen keeps its
    operator's freeze. Returns whether it froze the wallet."""
    frozen = await conn.fetchval(
        "UPDATE wallet SET status = 'frozen', frozen_reason = $3, frozen_at = now(), "
        "frozen_by_case = $2 WHERE user_id = $1 AND status IN ('active', 'restricted') "
        "RETURNING id",
        user_id,
        case_id,
        AUTOMATIC_FREEZE_REASON.format(case_id=case_id),
    )
    if frozen is None:
        return False
    await _tell(conn, user_id, WAIT_TITLE, WAIT_BODY, f"verify-wait:{case_id}")
    return True


async def _tell(conn: Connection, user_id: int, title: str, body: str, key: str) -> None:
    await emit(
        conn,
        Topic.NOTICE,
        {"user_id": user_id, "kind": "kyc", "title": title, "body": body, "dedupe_key": key},
    )


MIN_CLEARING_REASON = 10
# Lifting a freeze: a chargeback debt still owed keeps the wallet restricted.
_UNFREEZE = (
    "UPDATE wallet SET status = CASE WHEN restricted_reason IS NULL THEN 'active' "
    "ELSE 'restricted' END, frozen_reason = NULL, frozen_at = NULL, frozen_by_case = NULL "
    "WHERE user_id = $1 AND status = 'frozen' "
)


async def clear_sanctions_match(case_id: int, operator_id: int, reason: str) -> None:
    """A compliance officer finds the possible match is not the listed person: the case
    is closed as cleared (who, when, why), KYC approval is possible again, and the freeze
    this case made is lifted (an operator's own freeze stays)."""
    reason = reason.strip()
    if len(reason) < MIN_CLEARING_REASON:
        raise CaseError("Say why this is not the listed person (e.g. a different date of birth)")
    async with transaction() as conn:
        case = await _live_case(conn, case_id)
        if case["detector"] != SANCTIONS:
            raise NotASanctionsMatch()
        user_id = int(case["user_id"])
        await conn.execute(
            "UPDATE aml_case SET status = 'closed', closed_reason = $2, cleared_by = $3, "
            "cleared_at = now(), updated_at = now() WHERE id = $1",
            case_id,
            reason,
            operator_id,
        )
        lifted = await conn.fetchval(
            _UNFREEZE + "AND frozen_by_case = $2 RETURNING id",
            user_id,
            case_id,
        )
        if lifted is not None:
            await _tell(
                conn, user_id, WAIT_OVER_TITLE, WAIT_OVER_BODY, f"verify-wait-over:{case_id}"
            )


async def get_case(case_id: int) -> AmlCase | None:
    async with connection() as conn:
        row = await conn.fetchrow(_SELECT + "WHERE c.id = $1", case_id)
    return None if row is None else _case(row)


async def _live_case(conn: Connection, case_id: int) -> Any:
    row = await conn.fetchrow(
        "SELECT * FROM aml_case WHERE id = $1 AND status <> 'closed' FOR UPDATE", case_id
    )
    if row is None:
        raise CaseNotFound()
    return row


async def _subject(conn: Connection, user_id: int) -> dict[str, Any]:
    row = await conn.fetchrow(
        "SELECT u.id, u.username, u.email, u.phone, u.verification_level, u.created_at, "
        "p.legal_name, p.date_of_birth, p.address, p.country, p.document_type "
        "FROM app_user u LEFT JOIN kyc_profile p ON p.user_id = u.id WHERE u.id = $1",
        user_id,
    )

    def opened(column: str) -> str | None:
        value = row[column]
        return None if value is None else keyring().decrypt(value, f"kyc:{user_id}:{column}")

    return {
        "user_id": user_id,
        "username": row["username"],
        "email": row["email"],
        "phone": row["phone"],
        "verification_level": row["verification_level"],
        "customer_since": row["created_at"].isoformat(),
        "legal_name": opened("legal_name"),
        "date_of_birth": opened("date_of_birth"),
        "address": opened("address"),
        "country": row["country"],
        "identity_document": row["document_type"],
    }


async def _activity(conn: Connection, user_id: int, transaction_ids: list[int]) -> dict[str, Any]:
    """The case's transactions, or the user's last 90 days when the case names none."""
    rows = await conn.fetch(
        "SELECT t.id, t.type, t.status, t.amount, t.currency, t.created_at, "
        "t.initiator_user_id, i.username AS initiator, c.username AS counterparty "
        "FROM money_transaction t LEFT JOIN app_user i ON i.id = t.initiator_user_id "
        "LEFT JOIN app_user c ON c.id = t.counterparty_user_id "
        "WHERE (t.id = ANY($2::bigint[]) OR (cardinality($2::bigint[]) = 0 AND "
        "(t.initiator_user_id = $1 OR t.counterparty_user_id = $1) "
        "AND t.created_at > now() - interval '90 days')) ORDER BY t.created_at, t.id",
        user_id,
        transaction_ids,
    )
    items = [
        {
            "transaction_id": int(r["id"]),
            "at": r["created_at"].isoformat(),
            "type": r["type"],
            "status": r["status"],
            "direction": "out" if r["initiator_user_id"] == user_id else "in",
            "amount_minor": int(r["amount"]),
            "currency": r["currency"],
            "counterparty": r["counterparty"]
            if r["initiator_user_id"] == user_id
            else r["initiator"],
        }
        for r in rows
    ]
    return {
        "from": items[0]["at"] if items else None,
        "to": items[-1]["at"] if items else None,
        "transactions": items,
    }


async def escalate(case_id: int, operator_id: int, narrative: str) -> dict[str, Any]:
    """Escalate a case to a SAR draft; returns the draft document."""
    narrative = narrative.strip()
    if len(narrative) < 20:
        raise CaseError("Write a narrative: what happened and why it is suspicious")
    async with transaction() as conn:
        case = await _live_case(conn, case_id)
        if case["status"] == "escalated":
            raise CaseError("This case already has a SAR draft")
        user_id = int(case["user_id"])
        evidence = json.loads(case["evidence"])
        preparer = await conn.fetchval("SELECT username FROM app_user WHERE id = $1", operator_id)
        document = {
            "report": "Suspicious Activity Report (draft)",
            "case": {
                "id": case_id,
                "detector": case["detector"],
                "opened_at": case["created_at"].isoformat(),
                "summary": case["summary"],
            },
            "subject": await _subject(conn, user_id),
            "activity": await _activity(conn, user_id, evidence.get("transaction_ids", [])),
            "narrative": narrative,
            "prepared_by": preparer,
        }
        await conn.execute(
            "INSERT INTO aml_sar (case_id, document, created_by) VALUES ($1, $2::jsonb, $3)",
            case_id,
            json.dumps(document),
            operator_id,
        )
        await conn.execute(
            "UPDATE aml_case SET status = 'escalated', updated_at = now() WHERE id = $1", case_id
        )
    return document


async def sar_document(case_id: int) -> dict[str, Any] | None:
    async with connection() as conn:
        row = await conn.fetchrow(
            "SELECT document, created_at FROM aml_sar WHERE case_id = $1", case_id
        )
    if row is None:
        return None
    return {**json.loads(row["document"]), "prepared_at": row["created_at"].isoformat()}


async def close(case_id: int, reason: str) -> None:
    if not reason.strip():
        raise CaseError("Say why the case is closed")
    async with transaction() as conn:
        case = await _live_case(conn, case_id)
        if case["detector"] == SANCTIONS:
            raise SanctionsMatchNotClosed()
        await conn.execute(
            "UPDATE aml_case SET status = 'closed', closed_reason = $2, updated_at = now() "
            "WHERE id = $1",
            case_id,
            reason.strip(),
        )


async def freeze(user_id: int, reason: str) -> None:
    """Stop money leaving the wallet. The reason is for operators only; the user is told
    their wallet is under review."""
    if not reason.strip():
        raise CaseError("Say why the wallet is frozen")
    async with transaction() as conn:
        status = await conn.fetchval(
            "SELECT status FROM wallet WHERE user_id = $1 FOR UPDATE", user_id
        )
        if status is None or status == "closed":
            raise CaseError("No open wallet for that user")
        # The operator's freeze from now on: clearing a sanctions match will not lift it.
        await conn.execute(
            "UPDATE wallet SET status = 'frozen', frozen_reason = $2, frozen_at = now(), "
            "frozen_by_case = NULL WHERE user_id = $1",
            user_id,
            reason.strip(),
        )
        await emit(
            conn,
            Topic.NOTICE,
            {
                "user_id": user_id,
                "kind": "wallet_frozen",
                "title": "Your wallet is under review",
                "body": "You cannot send or withdraw money for now. Money sent to you still "
                "arrives. Our team will contact you.",
                "dedupe_key": f"frozen:{user_id}:{datetime.now().isoformat()}",
            },
        )


async def unfreeze(user_id: int) -> None:
    async with transaction() as conn:
        updated = await conn.fetchval(
            _UNFREEZE + "RETURNING id",
            user_id,
        )
        if updated is None:
            raise CaseError("That wallet is not frozen")
