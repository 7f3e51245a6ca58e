"""Re-encrypt every encrypted field with the keyring's current key (`wallet keys rotate`).

Rotation: put a new key first in WALLET_PII_KEYS (keeping the old ones), restart, run
this, then drop the old keys. Each field is named by its table, key column, encrypted
column and the associated data it was sealed with; rows already under the current key
are skipped, so the command can be stopped and run again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from wallet.db.engine import transaction
from wallet.security.crypto import Keyring
from wallet.security.keys import keyring


@dataclass(frozen=True, slots=True)
class EncryptedField:
    table: str
    key_column: str
    column: str
    context: Callable[[Any], str]
    extra_columns: tuple[str, ...] = ()


FIELDS: tuple[EncryptedField, ...] = (
    EncryptedField("user_totp", "user_id", "secret", lambda r: f"user:{r['user_id']}:totp"),
    *(
        EncryptedField(
            "kyc_profile",
            "user_id",
            column,
            lambda r, c=column: f"kyc:{r['user_id']}:{c}",  # type: ignore[misc]
        )
        for column in ("legal_name", "date_of_birth", "address", "document_number")
    ),
    EncryptedField(
        "kyc_document",
        "id",
        "content",
        lambda r: f"kyc:{r['user_id']}:document:{r['review_id']}:{r['kind']}",
        ("user_id", "review_id", "kind"),
    ),
)


async def rotate(batch: int = 200, ring: Keyring | None = None) -> dict[str, int]:
    """Re-encrypt what is not under the current key; counts per table.column."""
    ring = ring or keyring()
    done: dict[str, int] = {}
    current_prefix = f"v1.{ring.current}.%"
    for f in FIELDS:
        columns = ", ".join((f.key_column, f.column, *f.extra_columns))
        # Names come from FIELDS above, never from input.
        select = (
            f"SELECT {columns} FROM {f.table} WHERE {f.column} IS NOT NULL "  # noqa: S608
            f"AND {f.column} NOT LIKE $1 ORDER BY {f.key_column} LIMIT $2 FOR UPDATE SKIP LOCKED"
        )
        update = f"UPDATE {f.table} SET {f.column} = $2 WHERE {f.key_column} = $1"  # noqa: S608
        count = 0
        while True:
            async with transaction() as conn:
                rows = await conn.fetch(select, current_prefix, batch)
                for row in rows:
                    context = f.context(row)
                    plain = ring.decrypt(row[f.column], context)
                    await conn.execute(update, row[f.key_column], ring.encrypt(plain, context))
            count += len(rows)
            if len(rows) < batch:
                break
        done[f"{f.table}.{f.column}"] = count
    return done
