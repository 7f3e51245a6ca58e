"""What the audit log may keep of a request: an allow-list of names known to be safe.

Every value whose own name is not on the list is replaced by `[redacted]`, so a field
added to the API later is redacted until someone decides it is safe (issue 14, finding 2).
"""

from __future__ import annotations

import re
from typing import Any

REDACTED = "[redacted]"

# Mutation arguments and input fields that carry no secret and no personal data: ids the
# platform issued, idempotency keys, enums, amounts and currencies, flags, counts and
# dates. Free text (notes, reasons, labels), contacts and usernames (a recipient may be an
# email or a phone), and anything naming a number, account, holder, code or token stay
# off it: the log is immutable, so it must not hold what erasure has to remove.
# tests/unit/test_audit_redaction.py walks the schema and refuses a sensitive name here.
SAFE_ARGUMENTS = frozenset(
    {
        # identifiers issued by the platform
        "id",
        "caseId",
        "challengeId",
        "deliveryId",
        "disputeId",
        "goalId",
        "groupId",
        "keyId",
        "merchantId",
        "paymentId",
        "paymentMethodId",
        "quoteId",
        "requestId",
        "reviewId",
        "savedBillerId",
        "scheduleId",
        "settlementMethodId",
        "transactionId",
        "idempotencyKey",
        # enums
        "category",
        "channel",
        "decision",
        "documentType",
        "fixedSide",
        "level",
        "method",
        "recurrence",
        "role",
        "scopes",
        "sessionTransport",
        "settlementSchedule",
        "kind",
        # amounts and currencies
        "amount",
        "currency",
        "currencies",
        "buy",
        "sell",
        "refundAmount",
        "weeklyAmount",
        "points",
        "percentBp",
        "mcc",
        # flags, counts, dates
        "approve",
        "enabled",
        "marketplace",
        "rollover",
        "roundUp",
        "alertPercents",
        "dayOfMonth",
        "expiresInDays",
        "expiresInMinutes",
        "remindDaysBefore",
        "index",
        "score",
        "firstRun",
        "nextRunOn",
        "month",
        "targetDate",
    }
)

# Keys the server itself writes into `details` (never client input).
SERVER_KEYS = frozenset(
    {
        "arguments",  # a container: its values are judged by their own names
        "key_prefix",  # the public part of a merchant API key
        "event",  # a gateway event id
        "type",  # a gateway event type
        "suppressed",  # refused callbacks counted instead of recorded one by one
        "sources",
    }
)

SAFE_NAMES = SAFE_ARGUMENTS | SERVER_KEYS

# A long run of digits is a card or bank account number whatever its name says (an
# amount always has its decimal point), so it is never kept.
_LONG_DIGITS = re.compile(r"\d{12,}")


# Kept values are ids, keys, enums and amounts: nothing legitimate is longer. A longer one
# (an inline literal the input bounds refused, say) is cut, so the log stays bounded.
MAX_KEPT_CHARS = 200


def _keep(value: Any) -> Any:
    if isinstance(value, str) and _LONG_DIGITS.search(re.sub(r"[\s-]", "", value)):
        return REDACTED
    if isinstance(value, str) and len(value) > MAX_KEPT_CHARS:
        return value[:MAX_KEPT_CHARS] + "…[cut]"
    return value


def redact(value: Any, name: str = "") -> Any:
    """Objects and lists are walked; a scalar is kept only when its own name (the key it
    sits under, or the list's key) is on the allow-list. Nulls stay null."""
    if isinstance(value, dict):
        return {str(k): redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v, name) for v in value]
    if value is None:
        return None
    return _keep(value) if name in SAFE_NAMES else REDACTED
