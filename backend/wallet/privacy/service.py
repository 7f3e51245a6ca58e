"""GDPR: a user's data export (JSON), and erasure that pseudonymizes personal data while
the ledger and the audit log are kept (legal retention).

Erasure needs every balance of the user at zero with nothing pending (wallet balances,
savings vaults, points): money is never erased. Their identifying fields are replaced
by placeholders, secrets and second factors are deleted, sessions end, and the account,
wallet and ledger accounts are closed. Transactions, postings and audit rows stay, now
pointing at a pseudonymous user.
"""

from __future__ import annotations

import io
import json
import secrets
import zipfile
from datetime import UTC, datetime
from typing import Any

from wallet.auth.sessions import SessionStore
from wallet.db.engine import connection, transaction
from wallet.exports.csv_writer import records_csv
from wallet.kyc import service as kyc
from wallet.ledger import service as ledger
from wallet.ledger.models import OwnerType
from wallet.security import audit
from wallet.transactions.history import HistoryFilter, page
from wallet.users.passwords import hash_password_in_pool


class PrivacyError(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value


async def export_data(user_id: int) -> dict[str, Any]:
    """Everything the wallet holds about the user, as one JSON-ready document."""
    async with connection() as conn:
        profile = await conn.fetchrow(
            "SELECT id, email, phone, username, status, verification_level, created_at "
            "FROM app_user WHERE id = $1",
            user_id,
        )
        balances = [
            {
                "currency": a.balance.currency.value,
                "purpose": a.purpose,
                "posted": a.balance.posted,
                "reserved": a.balance.reserved,
            }
            for a in await ledger.accounts_of_owner(conn, OwnerType.USER, user_id)
        ]
        methods = await conn.fetch(
            "SELECT kind, brand, last4, exp_month, exp_year, created_at FROM payment_method "
            "WHERE user_id = $1",
            user_id,
        )
        devices = await conn.fetch(
            "SELECT label, first_seen, last_seen, last_ip FROM user_device WHERE user_id = $1",
            user_id,
        )
        notifications = await conn.fetch(
            "SELECT kind, title, body, created_at FROM notification WHERE user_id = $1 ORDER BY id",
            user_id,
        )
        goals = await conn.fetch(
            "SELECT name, currency, target, created_at FROM savings_goal WHERE user_id = $1",
            user_id,
        )
        budgets = await conn.fetch(
            "SELECT category, currency, amount, rollover FROM budget WHERE user_id = $1", user_id
        )
        groups = await conn.fetch(
            "SELECT g.name FROM split_group g JOIN split_group_member m ON m.group_id = g.id "
            "WHERE m.user_id = $1",
            user_id,
        )
        passkeys = await conn.fetch(
            "SELECT label, transports, created_at, last_used_at FROM user_passkey "
            "WHERE user_id = $1 ORDER BY id",
            user_id,
        )
    items = []
    after = None
    while True:
        batch, more = await page(user_id, first=100, after_id=after, history_filter=HistoryFilter())
        items += batch
        if not more or not batch:
            break
        after = batch[-1].id

    def rows(records: list[Any]) -> list[dict[str, Any]]:
        return [{k: _jsonable(v) for k, v in dict(r).items()} for r in records]

    identity = await kyc.personal_data(user_id)

    return {
        "exported_at": datetime.now(UTC).isoformat(),
        "profile": {k: _jsonable(v) for k, v in dict(profile).items()} if profile else None,
        "balances": rows(balances),
        "payment_methods": rows(methods),
        "devices": rows(devices),
        "passkeys": rows(passkeys),
        "identity": {
            "details": (
                {k: _jsonable(v) for k, v in identity["details"].items()}
                if identity["details"]
                else None
            ),
            "reviews": rows(identity["reviews"]),
            "documents": rows(identity["documents"]),
        },
        "notifications": rows(notifications),
        "savings_goals": rows(goals),
        "budgets": rows(budgets),
        "split_groups": [g["name"] for g in groups],
        "transactions": [
            {
                "id": i.id,
                "type": i.type.value,
                "status": i.status.value,
                "direction": "in" if i.incoming else "out",
                "amount": i.amount.format(),
                "currency": i.amount.currency.value,
                "counterparty": i.counterparty_username,
                "merchant": i.merchant_name,
                "note": i.note,
                "created_at": i.created_at.isoformat(),
            }
            for i in items
        ],
    }


async def erase(user_id: int, sessions: SessionStore) -> None:
    """Pseudonymize the user and close the account; refused while any money remains."""
    unusable_hash = await hash_password_in_pool(secrets.token_urlsafe(32))
    async with transaction() as conn:
        await conn.execute("SELECT 1 FROM wallet WHERE user_id = $1 FOR UPDATE", user_id)
        left = [
            a
            for a in await ledger.accounts_of_owner(conn, OwnerType.USER, user_id)
            if a.balance.posted or a.balance.pending_debits or a.balance.pending_credits
        ]
        if left:
            what = ", ".join(f"{a.balance.currency.value} {a.purpose}" for a in left)
            raise PrivacyError("balance", f"Move or withdraw your money first ({what})")
        open_requests = await conn.fetchval(
            "SELECT count(*) FROM money_request WHERE status = 'open' "
            "AND (payer_id = $1 OR requester_id = $1)",
            user_id,
        )
        if open_requests:
            raise PrivacyError("balance", "Settle or cancel your open money requests first")
        await conn.execute(
            "UPDATE app_user SET email = 'erased-' || id || '@erased.invalid', "
            "phone = '+000' || lpad(id::text, 12, '0'), username = 'erased_' || id, "
            "password_hash = $2, pin_hash = NULL, status = 'closed', closed_at = now() "
            "WHERE id = $1",
            user_id,
            unusable_hash,
        )
        for sql in (
            "DELETE FROM user_totp WHERE user_id = $1",
            "DELETE FROM recovery_code WHERE user_id = $1",
            "DELETE FROM user_device WHERE user_id = $1",
            "DELETE FROM user_passkey WHERE user_id = $1",
            "DELETE FROM category_rule WHERE user_id = $1",
            "DELETE FROM bill_reminder WHERE user_id = $1",
            "DELETE FROM budget WHERE user_id = $1",
            # The browsers it pushed to (their endpoints identify devices).
            "DELETE FROM push_subscription WHERE user_id = $1",
            "DELETE FROM low_balance_alert WHERE user_id = $1",
            "UPDATE payment_method SET status = 'removed' WHERE user_id = $1",
            "UPDATE wallet SET status = 'closed' WHERE user_id = $1",
            # The email or phone others typed to ask them for money or invite them.
            "UPDATE money_request SET payer_contact = NULL WHERE payer_id = $1",
            "UPDATE split_invitation SET contact = 'erased:' || id "
            "WHERE user_id = $1 AND contact IS NOT NULL",
        ):
            await conn.execute(sql, user_id)
        await ledger.close_owner_accounts(conn, OwnerType.USER, user_id)
        await audit.record(
            audit.AuditEvent("user", user_id, "erasure", "done", subject=f"user:{user_id}"),
            conn,
        )
    for info in await sessions.sessions_of(user_id):
        await sessions.revoke_id(user_id, info.id)


def export_json(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, default=str)


def _csv(records: list[dict[str, Any]]) -> str:
    """One section as CSV through the shared writer (formula cells defused); nested
    values as JSON."""
    return records_csv(
        [
            {k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in r.items()}
            for r in records
        ]
    )


def _tables(data: dict[str, Any], prefix: str = "") -> dict[str, list[dict[str, Any]]]:
    """Each section of the export as rows: a list is a table, a single record one row,
    a nested section its own tables (`identity_reviews`)."""
    tables: dict[str, list[dict[str, Any]]] = {}
    for name, value in data.items():
        if isinstance(value, list):
            tables[prefix + name] = [v if isinstance(v, dict) else {"name": v} for v in value]
        elif isinstance(value, dict) and all(
            isinstance(v, list | dict | None) for v in value.values()
        ):
            tables |= _tables(value, f"{prefix}{name}_")
        elif isinstance(value, dict):
            tables[prefix + name] = [value]
    return tables


def export_archive(data: dict[str, Any]) -> bytes:
    """The export as a zip: `my-data.json`, and one CSV per section (`transactions.csv`,
    `profile.csv`, `identity_details.csv`...), for a spreadsheet or another provider."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("my-data.json", export_json(data))
        for name, records in _tables(data).items():
            archive.writestr(f"{name}.csv", _csv(records))
    return buffer.getvalue()
