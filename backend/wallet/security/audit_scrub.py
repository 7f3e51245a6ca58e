"""The one sanctioned rewrite of the audit chain (issue 14, finding 2), run by migration
0026 as the schema owner: details written before the allow-list are redacted by it, every
row is unsealed for the worker to re-seal with the keyed hash, and the scrub is recorded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from wallet.db.engine import Connection
from wallet.security.audit_redaction import REDACTED, SAFE_NAMES

# wallet.security.audit_redaction.redact, in SQL, so that one statement scrubs the table.
# A temporary function: nothing of it stays behind in the schema.
_SCRUB_FUNCTION = r"""
CREATE FUNCTION pg_temp.audit_scrub(value jsonb, name text, safe text[], hidden jsonb)
RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    CASE jsonb_typeof(value)
    WHEN 'object' THEN
        RETURN coalesce(
            (SELECT jsonb_object_agg(k, pg_temp.audit_scrub(v, k, safe, hidden))
             FROM jsonb_each(value) AS e(k, v)),
            '{}'::jsonb);
    WHEN 'array' THEN
        RETURN coalesce(
            (SELECT jsonb_agg(pg_temp.audit_scrub(v, name, safe, hidden) ORDER BY i)
             FROM jsonb_array_elements(value) WITH ORDINALITY AS e(v, i)),
            '[]'::jsonb);
    WHEN 'null' THEN
        RETURN value;
    ELSE
        IF name = ANY (safe) AND NOT (
            jsonb_typeof(value) = 'string'
            AND regexp_replace(value #>> '{}', '[\s-]', '', 'g') ~ '\d{12,}'
        ) THEN
            RETURN value;
        END IF;
        RETURN hidden;
    END CASE;
END $$
"""

_SCRUB = """
WITH scrubbed AS (
    SELECT id, details AS old, pg_temp.audit_scrub(details, '', $1::text[], $2::jsonb) AS new
    FROM audit_log
), done AS (
    UPDATE audit_log a SET details = s.new, seq = NULL, prev_hash = NULL, hash = NULL
    FROM scrubbed s WHERE a.id = s.id
    RETURNING s.old IS DISTINCT FROM s.new AS changed
)
SELECT count(*) FILTER (WHERE changed) AS changed, count(*) AS total FROM done
"""

REASON = (
    "Security review (issue 14, finding 2): details recorded before the allow-list held "
    "card and bank numbers and personal data. They are redacted by the allow-list, and "
    "the whole chain is re-sealed with the keyed hash (finding 5). This is the one "
    "sanctioned rewrite of the chain."
)


@dataclass(frozen=True, slots=True)
class Scrub:
    changed: int
    unsealed: int


async def scrub(conn: Connection) -> Scrub:
    """Redact and unseal every row, then record the scrub; nothing to do on an empty log.

    Runs as the table's owner, in the migration's transaction: it switches off the
    append-only trigger for its own statement only (ALTER TABLE holds the table's lock
    until commit, so no other session writes in between)."""
    if not await conn.fetchval("SELECT EXISTS (SELECT FROM audit_log)"):
        return Scrub(0, 0)
    await conn.execute(_SCRUB_FUNCTION)
    await conn.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
    row = await conn.fetchrow(_SCRUB, sorted(SAFE_NAMES), json.dumps(REDACTED))
    await conn.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")
    await conn.execute("DROP FUNCTION pg_temp.audit_scrub(jsonb, text, text[], jsonb)")
    done = Scrub(int(row["changed"]), int(row["total"]))
    await conn.execute(
        "INSERT INTO audit_log (actor_type, action, outcome, subject, details) "
        "VALUES ('system', 'auditScrub', 'done', 'audit_log', $1::jsonb)",
        json.dumps(
            {"scrubbed_rows": done.changed, "resealed_rows": done.unsealed, "reason": REASON}
        ),
    )
    return done
