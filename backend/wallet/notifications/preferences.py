"""Which notifications a user gets on which channel: defaults in code, their changes in
`notification_preference`. Security alerts are always on, on every channel."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from wallet.db.engine import connection, transaction


class Channel(Enum):
    IN_APP = "in_app"
    EMAIL = "email"
    SMS = "sms"
    PUSH = "push"


class Kind(Enum):
    """What a user chooses about; each notice kind falls into one (`kind_of`)."""

    MONEY_RECEIVED = "money_received"
    REQUESTS = "requests"
    SECURITY = "security"
    LOW_BALANCE = "low_balance"
    WEEKLY_SUMMARY = "weekly_summary"
    MARKETING = "marketing"


_ON = frozenset(Channel)
DEFAULTS: dict[Kind, frozenset[Channel]] = {
    Kind.MONEY_RECEIVED: frozenset({Channel.IN_APP, Channel.EMAIL, Channel.PUSH}),
    Kind.REQUESTS: frozenset({Channel.IN_APP, Channel.EMAIL, Channel.PUSH}),
    Kind.SECURITY: _ON,
    Kind.LOW_BALANCE: frozenset({Channel.IN_APP, Channel.EMAIL, Channel.PUSH}),
    Kind.WEEKLY_SUMMARY: frozenset({Channel.IN_APP, Channel.EMAIL}),
    Kind.MARKETING: frozenset(),
}
ALWAYS_ON = frozenset({Kind.SECURITY})

# Notice kinds (Notification.kind) by the preference that governs them. A notice kind
# not listed is a service message about the user's own money (a receipt, a failed
# top-up, a reversal): in the app and by email and push, whatever the preferences say.
_NOTICE_KINDS: dict[str, Kind] = {
    "money_received": Kind.MONEY_RECEIVED,
    "money_requested": Kind.REQUESTS,
    "request_paid": Kind.REQUESTS,
    "request_declined": Kind.REQUESTS,
    "request_expired": Kind.REQUESTS,
    "split_invitation": Kind.REQUESTS,
    "new_device": Kind.SECURITY,
    "email_changed": Kind.SECURITY,
    "phone_changed": Kind.SECURITY,
    "wallet_frozen": Kind.SECURITY,
    "low_balance": Kind.LOW_BALANCE,
    "weekly_summary": Kind.WEEKLY_SUMMARY,
    "marketing": Kind.MARKETING,
}
SERVICE_CHANNELS = frozenset({Channel.IN_APP, Channel.EMAIL, Channel.PUSH})


def kind_of(notice_kind: str, *, security: bool = False) -> Kind | None:
    """The preference a notice of `notice_kind` follows (None: a service message).
    `security`: the notice says it is a security alert (it goes out by SMS too)."""
    if security:
        return Kind.SECURITY
    return _NOTICE_KINDS.get(notice_kind)


class SecurityAlertsAlwaysOn(Exception):
    """Security alerts cannot be turned off, on any channel."""

    def __init__(self, channel: Channel) -> None:
        super().__init__(
            "Security alerts can't be turned off: they tell you when someone else may be "
            "using your account."
        )
        self.channel = channel


@dataclass(frozen=True, slots=True)
class Preference:
    kind: Kind
    channel: Channel
    enabled: bool
    locked: bool  # cannot be changed (security alerts)


async def channels_for(user_id: int, kind: Kind | None) -> frozenset[Channel]:
    """The channels a notice of `kind` goes to for this user now."""
    if kind is None:
        return SERVICE_CHANNELS
    if kind in ALWAYS_ON:
        return DEFAULTS[kind]
    async with connection() as conn:
        rows = await conn.fetch(
            "SELECT channel, enabled FROM notification_preference WHERE user_id = $1 AND kind = $2",
            user_id,
            kind.value,
        )
    chosen = set(DEFAULTS[kind])
    for row in rows:
        channel = Channel(row["channel"])
        (chosen.add if row["enabled"] else chosen.discard)(channel)
    return frozenset(chosen)


async def preferences_of(user_id: int) -> list[Preference]:
    """Every kind on every channel, the user's choice or the default."""
    async with connection() as conn:
        rows = await conn.fetch(
            "SELECT kind, channel, enabled FROM notification_preference WHERE user_id = $1",
            user_id,
        )
    chosen = {(Kind(r["kind"]), Channel(r["channel"])): bool(r["enabled"]) for r in rows}
    return [
        Preference(
            kind,
            channel,
            chosen.get((kind, channel), channel in DEFAULTS[kind]),
            kind in ALWAYS_ON,
        )
        for kind in Kind
        for channel in Channel
    ]


async def set_preference(user_id: int, kind: Kind, channel: Channel, enabled: bool) -> Preference:
    """Turn `kind` on `channel` on or off; `SecurityAlertsAlwaysOn` for security alerts."""
    if kind in ALWAYS_ON:
        if not enabled:
            raise SecurityAlertsAlwaysOn(channel)
        return Preference(kind, channel, True, True)
    async with transaction() as conn:
        await conn.execute(
            """INSERT INTO notification_preference (user_id, kind, channel, enabled)
               VALUES ($1, $2, $3, $4)
               ON CONFLICT (user_id, kind, channel)
               DO UPDATE SET enabled = EXCLUDED.enabled, updated_at = now()""",
            user_id,
            kind.value,
            channel.value,
            enabled,
        )
    return Preference(kind, channel, enabled, False)
