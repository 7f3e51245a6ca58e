"""Exactly-once execution of commands that carry a client idempotency key.

Inside the command's transaction, `claim` takes a transaction-scoped advisory lock on
(principal, key): concurrent duplicates queue behind the first, which either commits
its result (the others then replay it) or rolls back (the next one executes). The key
row is written by `remember` in the same transaction as the movement it guards.
Commands that fail with a typed error write nothing, so a retry re-evaluates.

The table has a partition per UTC day (expired keys go by dropping a day), so its
primary key, (principal, key, created_on), refuses a key twice in one day only. That a
key is used once across days rests on the lock: the claim reads every day's partition
after taking it, at READ COMMITTED (every transaction's level, wallet.db.engine), so it
sees a duplicate's committed row before this command runs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from wallet.db.engine import Connection
from wallet.errors import Conflict, Refusal

MAX_KEY_LENGTH = 128
RETENTION_HOURS = 48  # keys are kept at least 24 h (DESIGN.md); purged after this


class IdempotencyError(Refusal):
    pass


class InvalidIdempotencyKey(IdempotencyError):
    field = "idempotencyKey"

    def __init__(self) -> None:
        super().__init__(f"idempotencyKey must be 1 to {MAX_KEY_LENGTH} printable characters")


class IdempotencyConflict(IdempotencyError, Conflict):
    def __init__(self, key: str) -> None:
        super().__init__(f"idempotency key {key!r} was already used for a different request")
        self.key = key


def fingerprint(request: dict[str, Any]) -> str:
    """A stable digest of the normalised request body."""
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def validate_key(key: str) -> None:
    if not 0 < len(key) <= MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidIdempotencyKey()


async def claim(
    conn: Connection, principal: str, key: str, request_fingerprint: str
) -> dict[str, Any] | None:
    """Serialise on the key; return the stored response of an earlier identical request,
    raise `IdempotencyConflict` for a different one, or None when the key is new."""
    validate_key(key)
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"{principal}\x1f{key}"
    )
    row = await conn.fetchrow(
        "SELECT fingerprint, response FROM idempotency_key WHERE principal = $1 AND key = $2",
        principal,
        key,
    )
    if row is None:
        return None
    if row["fingerprint"] != request_fingerprint:
        raise IdempotencyConflict(key)
    stored: dict[str, Any] = json.loads(row["response"])
    return stored


async def remember(
    conn: Connection, principal: str, key: str, request_fingerprint: str, response: dict[str, Any]
) -> None:
    await conn.execute(
        "INSERT INTO idempotency_key (principal, key, fingerprint, response) "
        "VALUES ($1, $2, $3, $4::jsonb)",
        principal,
        key,
        request_fingerprint,
        json.dumps(response),
    )


@dataclass(frozen=True, slots=True)
class Stored:
    """An earlier request's key: its fingerprint and the response it got."""

    fingerprint: str
    response: dict[str, Any]

    def replay(self, key: str, request_fingerprint: str) -> dict[str, Any]:
        """The response, for the same request again; `IdempotencyConflict` otherwise."""
        if self.fingerprint != request_fingerprint:
            raise IdempotencyConflict(key)
        return self.response


async def claim_many(
    conn: Connection, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], Stored]:
    """`claim` for a batch: serialise on every (principal, key), in one fixed order (by
    the lock's hash, so concurrent batches cannot deadlock), then return the keys that
    are already taken. Two statements, whatever the number of keys."""
    for _, key in keys:
        validate_key(key)
    await conn.execute(
        "SELECT pg_advisory_xact_lock(h) FROM (SELECT DISTINCT hashtextextended(k, 0) AS h "
        "FROM unnest($1::text[]) k ORDER BY 1) s",
        [f"{principal}\x1f{key}" for principal, key in keys],
    )
    # Key by key through the primary key, whatever the table's statistics say: a
    # prepared statement's generic plan, made while the table looked small (a new
    # database, or before autovacuum's first ANALYZE), hashed the whole table instead
    # (3 ms a batch and growing; bench/README.md). OFFSET 0 keeps the lookup a
    # subquery the planner cannot turn into that join.
    rows = await conn.fetch(
        "SELECT i.principal, i.key, i.fingerprint, i.response "
        "FROM unnest($1::text[], $2::text[]) AS k(principal, key), LATERAL ("
        "SELECT principal, key, fingerprint, response FROM idempotency_key "
        "WHERE principal = k.principal AND key = k.key OFFSET 0) i",
        [principal for principal, _ in keys],
        [key for _, key in keys],
    )
    return {
        (r["principal"], r["key"]): Stored(r["fingerprint"], json.loads(r["response"]))
        for r in rows
    }


async def remember_many(
    conn: Connection, keys: Sequence[tuple[str, str, str, dict[str, Any]]]
) -> None:
    """`remember` for a batch: (principal, key, fingerprint, response) each, one statement."""
    await conn.execute(
        "INSERT INTO idempotency_key (principal, key, fingerprint, response) "
        "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[])",
        [k[0] for k in keys],
        [k[1] for k in keys],
        [k[2] for k in keys],
        [json.dumps(k[3]) for k in keys],
    )


async def purge_expired(conn: Connection) -> int:
    """Drop the days of keys wholly older than the retention window (run by the worker):
    the table has a partition per day (wallet.db.partitions), so expired keys go a day at
    a time, never by DELETE. How many days went."""
    return int(
        await conn.fetchval(
            "SELECT idempotency_drop_expired(make_interval(hours => $1))", RETENTION_HOURS
        )
    )
