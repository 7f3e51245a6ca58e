"""The audit log: append-only, hash-chained, queryable by operators.

`record` writes a row in the caller's transaction (or its own); `seal` (the worker, every
few seconds) gives unsealed rows a sequence number and a SHA-256 chained to the previous
row, under one advisory lock so only one sealer runs; `verify` walks the chain and
names the first row whose content no longer matches its hash.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from wallet.db.engine import Connection, connection, transaction

SEAL_LOCK = 0x5EA1  # advisory lock key of the sealer
GENESIS = b"\x00" * 32
_SECRET_WORDS = ("password", "pin", "code", "cvc", "cardnumber", "secret", "token", "key")
# Personal data and files: the log is immutable, so it must not hold what erasure removes.
_PERSONAL_WORDS = (
    "legalname",
    "dateofbirth",
    "address",
    "documentnumber",
    "base64",
    "email",
    "phone",
    "contact",
)


def redact(value: Any, key: str = "") -> Any:
    """Values under keys that name secrets (passwords, PINs, codes, card numbers) or
    personal data (name, birth date, address, document numbers, files) are replaced;
    everything else is kept (recursively)."""
    lowered = key.lower().replace("_", "")
    hidden = any(word in lowered for word in _SECRET_WORDS + _PERSONAL_WORDS)
    if hidden and lowered != "idempotencykey":
        return "[redacted]"
    if isinstance(value, dict):
        return {k: redact(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, key) for v in value]
    return value


@dataclass(frozen=True, slots=True)
class AuditEvent:
    # None: a user or an operator, told apart by `actor_id`'s role in the same statement.
    actor_type: str | None
    actor_id: int | None
    action: str
    outcome: str
    subject: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    details: dict[str, Any] | None = None


async def record(event: AuditEvent, conn: Connection | None = None) -> int:
    """Append one event (in `conn`'s transaction when given)."""
    sql = (
        "INSERT INTO audit_log (actor_type, actor_id, action, outcome, subject, ip, "
        "user_agent, details) SELECT coalesce($1, CASE WHEN u.operator_role IS NULL "
        "THEN 'user' ELSE 'operator' END), $2, $3, $4, $5, $6, $7, $8::jsonb "
        "FROM (SELECT 1) one LEFT JOIN app_user u ON u.id = $2 RETURNING id"
    )
    args = (
        event.actor_type,
        event.actor_id,
        event.action,
        event.outcome,
        event.subject,
        event.ip,
        (event.user_agent or "")[:300] or None,
        json.dumps(redact(event.details or {}), default=str),
    )
    if conn is not None:
        return int(await conn.fetchval(sql, *args))
    async with connection() as own:
        return int(await own.fetchval(sql, *args))


def row_hash(prev_hash: bytes, row: Any) -> bytes:
    """SHA-256 over the previous hash and a canonical text of the row's content."""
    canonical = json.dumps(
        [
            int(row["seq"]),
            row["at"].isoformat(),
            row["actor_type"],
            row["actor_id"],
            row["action"],
            row["outcome"],
            row["subject"],
            row["ip"],
            row["user_agent"],
            json.loads(row["details"]) if isinstance(row["details"], str) else row["details"],
        ],
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(prev_hash + canonical.encode()).digest()


_COLUMNS = "id, seq, at, actor_type, actor_id, action, outcome, subject, ip, user_agent, details"


async def seal(batch: int = 1000) -> int:
    """Chain the rows written since the last seal; return how many were sealed."""
    async with transaction() as conn:
        if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", SEAL_LOCK):
            return 0
        last = await conn.fetchrow(
            "SELECT seq, hash FROM audit_log WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1"
        )
        seq, prev = (int(last["seq"]), bytes(last["hash"])) if last else (0, GENESIS)
        rows = await conn.fetch(
            f"SELECT {_COLUMNS} FROM audit_log WHERE seq IS NULL ORDER BY id LIMIT $1",  # noqa: S608
            batch,
        )
        for row in rows:
            seq += 1
            sealed = dict(row) | {"seq": seq}
            digest = row_hash(prev, sealed)
            await conn.execute(
                "UPDATE audit_log SET seq = $2, prev_hash = $3, hash = $4 WHERE id = $1",
                row["id"],
                seq,
                prev,
                digest,
            )
            prev = digest
        return len(rows)


@dataclass(frozen=True, slots=True)
class ChainCheck:
    checked: int
    broken_at_seq: int | None
    broken_row_id: int | None

    @property
    def intact(self) -> bool:
        return self.broken_at_seq is None


async def verify() -> ChainCheck:
    """Recompute the chain from the first sealed row; report the first that does not match
    (changed content, a deleted row, or a reordered chain)."""
    prev, expected_seq, checked = GENESIS, 1, 0
    async with connection() as conn, conn.transaction():
        cursor = conn.cursor(
            f"SELECT {_COLUMNS}, prev_hash, hash FROM audit_log "  # noqa: S608
            "WHERE seq IS NOT NULL ORDER BY seq"
        )
        async for row in cursor:
            checked += 1
            if (
                int(row["seq"]) != expected_seq
                or bytes(row["prev_hash"]) != prev
                or row_hash(prev, row) != bytes(row["hash"])
            ):
                return ChainCheck(checked, int(row["seq"]), int(row["id"]))
            prev, expected_seq = bytes(row["hash"]), expected_seq + 1
    return ChainCheck(checked, None, None)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    actor_type: str
    actor_id: int | None
    action: str
    outcome: str
    subject: str | None
    ip: str | None
    details: dict[str, Any]
    sealed: bool


async def entries(
    *,
    first: int = 50,
    before_id: int | None = None,
    actor_id: int | None = None,
    action: str | None = None,
) -> list[AuditEntry]:
    """Newest first (keyset by id), filtered by actor and action."""
    async with connection() as conn:
        rows = await conn.fetch(
            "SELECT id, at, actor_type, actor_id, action, outcome, subject, ip, details, "
            "seq IS NOT NULL AS sealed FROM audit_log WHERE id < $1 "
            "AND ($2::bigint IS NULL OR actor_id = $2) AND ($3::text IS NULL OR action = $3) "
            "ORDER BY id DESC LIMIT $4",
            before_id or 2**62,
            actor_id,
            action,
            max(1, min(first, 200)),
        )
    return [
        AuditEntry(
            id=int(r["id"]),
            at=r["at"],
            actor_type=r["actor_type"],
            actor_id=r["actor_id"],
            action=r["action"],
            outcome=r["outcome"],
            subject=r["subject"],
            ip=r["ip"],
            details=json.loads(r["details"]),
            sealed=r["sealed"],
        )
        for r in rows
    ]
