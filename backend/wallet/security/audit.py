"""The audit log: append-only, chained with a keyed hash, anchored outside the database.

`record` writes a row (its details through the allow-list); `seal` (the worker, every few
seconds) gives unsealed rows a sequence number and an HMAC chained to the previous row,
under one advisory lock so only one sealer runs; `anchor` writes the sealed head to a
signed file outside the database; `verify` walks the chain and compares it with the anchors.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog

from wallet.db import coalesce
from wallet.db.engine import Connection, connection, transaction
from wallet.security import audit_anchors
from wallet.security.audit_redaction import redact

log = structlog.get_logger(__name__)

SEAL_LOCK = 0x5EA1  # advisory lock key of the sealer
GENESIS = b"\x00" * 32
ANCHORS_KEPT = 100


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


_INSERT = (
    "INSERT INTO audit_log (actor_type, actor_id, action, outcome, subject, ip, "
    "user_agent, details) SELECT coalesce(e.actor_type, CASE WHEN u.operator_role IS NULL "
    "THEN 'user' ELSE 'operator' END), e.actor_id, e.action, e.outcome, e.subject, e.ip, "
    "e.user_agent, e.details FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], "
    "$5::text[], $6::text[], $7::text[], $8::jsonb[]) WITH ORDINALITY "
    "AS e (actor_type, actor_id, action, outcome, subject, ip, user_agent, details, n) "
    "LEFT JOIN app_user u ON u.id = e.actor_id ORDER BY e.n RETURNING id"
)


def _columns(events: list[AuditEvent]) -> list[list[Any]]:
    return [
        [e.actor_type for e in events],
        [e.actor_id for e in events],
        [e.action for e in events],
        [e.outcome for e in events],
        [e.subject for e in events],
        [e.ip for e in events],
        [(e.user_agent or "")[:300] or None for e in events],
        [json.dumps(redact(e.details or {}), default=str) for e in events],
    ]


async def record(event: AuditEvent, conn: Connection | None = None) -> int:
    """Append one event (in `conn`'s transaction when given)."""
    if conn is not None:
        return int(await conn.fetchval(_INSERT, *_columns([event])))
    async with connection() as own:
        return int(await own.fetchval(_INSERT, *_columns([event])))


async def _record_many(events: list[AuditEvent]) -> None:
    async with connection() as conn:
        await conn.execute(_INSERT, *_columns(events))


async def record_gathered(event: AuditEvent) -> None:
    """Append one event in its own transaction, shared with the other events recorded in
    the same turn of the event loop (one INSERT for all the requests finishing
    together); returns once it is committed."""
    await coalesce.per_loop(_record_many, _record_many).submit(event)


def row_hash(key: bytes, prev_hash: bytes, row: Any) -> bytes:
    """HMAC-SHA256, under the audit key, of the previous hash and a canonical text of the
    row's content. The key is not in the database: whoever can write the table cannot
    compute the hash of a row they changed."""
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
    return hmac.new(key, prev_hash + canonical.encode(), hashlib.sha256).digest()


_COLUMNS = "id, seq, at, actor_type, actor_id, action, outcome, subject, ip, user_agent, details"


async def seal(key: bytes, batch: int = 1000) -> int:
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
            digest = row_hash(key, prev, sealed)
            await conn.execute(
                "UPDATE audit_log SET seq = $2, prev_hash = $3, hash = $4 WHERE id = $1",
                row["id"],
                seq,
                prev,
                digest,
            )
            prev = digest
        return len(rows)


async def seal_all(key: bytes) -> int:
    """Seal until nothing is left (after the scrub, the whole table waits to be re-sealed)."""
    total = 0
    while sealed := await seal(key):
        total += sealed
    return total


async def anchor(key: bytes, directory: Path) -> audit_anchors.Anchor | None:
    """Write the sealed head as a signed anchor file, if it moved since the newest anchor.

    No anchor is written over a chain that disagrees with the newest one (shorter, or
    another hash at its seq): that would make the tampering look like the new normal.
    """
    try:
        anchors = audit_anchors.read_all(directory, key)
    except audit_anchors.InvalidAnchor as exc:
        log.error("audit.anchor_refused", problem=str(exc))
        return None
    async with connection() as conn:
        head = await conn.fetchrow(
            "SELECT seq, hash FROM audit_log WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1"
        )
        newest = anchors[-1] if anchors else None
        if newest is not None:
            at_newest = await conn.fetchval("SELECT hash FROM audit_log WHERE seq = $1", newest.seq)
            if at_newest is None or bytes(at_newest) != newest.hash:
                log.error("audit.anchor_refused", problem="chain disagrees", seq=newest.seq)
                return None
    if head is None or (newest is not None and int(head["seq"]) <= newest.seq):
        return None
    made = audit_anchors.Anchor(int(head["seq"]), bytes(head["hash"]), datetime.now(UTC))
    if audit_anchors.write(directory, key, made) is None:
        return None
    audit_anchors.prune(directory, ANCHORS_KEPT)
    # The log is a second copy outside the database (log shipping keeps it elsewhere).
    log.info("audit.anchor", seq=made.seq, hash=made.hash.hex(), at=made.at.isoformat())
    return made


@dataclass(frozen=True, slots=True)
class ChainCheck:
    checked: int
    broken_at_seq: int | None
    broken_row_id: int | None
    # Why it is broken, in plain words; None when intact.
    problem: str | None = None
    # The highest seq an anchor vouches for (None: no anchor yet).
    anchored_seq: int | None = None

    @property
    def intact(self) -> bool:
        return self.problem is None


async def verify(key: bytes, anchor_dir: Path | None = None) -> ChainCheck:
    """Recompute the chain from the first sealed row and compare it with every anchor.

    Broken: a row whose hash does not match (changed content, or re-hashed without the
    key), a gap (a deleted row), a hash at an anchor's seq other than the anchor's, or
    a chain shorter than the newest anchor (a deleted tail, a truncated table)."""
    try:
        anchors = audit_anchors.read_all(anchor_dir, key) if anchor_dir else []
    except audit_anchors.InvalidAnchor as exc:
        return ChainCheck(0, None, None, f"anchor {exc}")
    vouched = {a.seq: a for a in anchors}
    anchored = anchors[-1].seq if anchors else None
    prev, expected_seq, checked = GENESIS, 1, 0
    async with connection() as conn, conn.transaction():
        cursor = conn.cursor(
            f"SELECT {_COLUMNS}, prev_hash, hash FROM audit_log "  # noqa: S608
            "WHERE seq IS NOT NULL ORDER BY seq"
        )
        async for row in cursor:
            checked += 1
            seq, row_id = int(row["seq"]), int(row["id"])
            if seq != expected_seq or bytes(row["prev_hash"]) != prev:
                problem = f"row seq {seq} does not follow seq {expected_seq - 1}"
                return ChainCheck(checked, seq, row_id, problem, anchored)
            if not hmac.compare_digest(row_hash(key, prev, row), bytes(row["hash"])):
                problem = f"row seq {seq} does not match its hash"
                return ChainCheck(checked, seq, row_id, problem, anchored)
            if seq in vouched and vouched[seq].hash != bytes(row["hash"]):
                problem = f"row seq {seq} differs from the anchor of {vouched[seq].at.isoformat()}"
                return ChainCheck(checked, seq, row_id, problem, anchored)
            prev, expected_seq = bytes(row["hash"]), expected_seq + 1
    if anchored is not None and checked < anchored:
        problem = (
            f"the chain ends at seq {checked} but the anchor of "
            f"{anchors[-1].at.isoformat()} records seq {anchored}"
        )
        return ChainCheck(checked, checked + 1, None, problem, anchored)
    return ChainCheck(checked, None, None, None, anchored)


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
