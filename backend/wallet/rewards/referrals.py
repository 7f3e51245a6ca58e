"""Referrals: each user's invitation code (the link `/?ref=<code>`), who joined with whose
code, and the bonus both get, once, when the newcomer qualifies: unless the two share a
device or a payment method (docs/rewards.md, "Referrals").

A referral is pending until the newcomer, within the window, is verified and has moved
at least the minimum (a first top-up, send or merchant payment; money sent back to the
one who invited them does not count); then it is paid, refused by a guard, or expired.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any

import structlog

from wallet.config import Settings
from wallet.db.engine import Connection, connection, transaction
from wallet.ledger import service as ledger
from wallet.ledger.models import EntryDraft
from wallet.money import Currency, Money
from wallet.notifications.money import event_payload
from wallet.outbox.service import Topic, emit, emit_many
from wallet.rates import RateSnapshot
from wallet.transactions import service as transactions
from wallet.transactions.models import TransactionType
from wallet.wallets.service import open_balance

log = structlog.get_logger("wallet.referrals")

REWARDS_EXPENSE = "rewards_expense"
VERIFIED_LEVELS = ("basic", "full", "premium")
# What `referral_code()` makes: 10 characters of Crockford's base32.
CODE = re.compile(r"[0-9A-HJKMNP-TV-Z]{10}")
# Crockford's base32 reads the letters people confuse with digits as those digits.
_LOOKALIKES = str.maketrans({"I": "1", "L": "1", "O": "0"})
# How far up a chain of invitations the guard looks for a shared device or card.
CHAIN_DEPTH = 10


@dataclass(frozen=True, slots=True)
class ReferralRule:
    """What each side gets, and what the newcomer must do, within how many days."""

    referrer_bonus: Money
    referred_bonus: Money
    minimum: Money
    days: int

    @classmethod
    def from_settings(cls, settings: Settings) -> ReferralRule:
        r = settings.referrals
        return cls(r.referrer_bonus, r.referred_bonus, r.minimum, r.days)


class ReferralStatus(Enum):
    PENDING = "pending"
    PAID = "paid"
    REFUSED = "refused"  # a guard: shared device or payment method
    EXPIRED = "expired"


class ReferralRefused(Exception):
    """An invitation that cannot be taken; `code` says why (UNKNOWN, OWN_CODE,
    ALREADY_REFERRED, REFERRAL_RING, TOO_LATE)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Friend:
    """Someone who joined with the user's code, and where their referral stands."""

    username: str
    status: ReferralStatus
    joined_at: datetime


@dataclass(frozen=True, slots=True)
class Program:
    """The user's side of the referral programme."""

    code: str
    invited_by: str | None
    can_enter_code: bool
    friends: list[Friend]


def normalise_code(text: str) -> str:
    """A code as typed (any case, spaces or dashes, I/L/O for 1/0) as it is stored."""
    return re.sub(r"[\s-]", "", text).upper().translate(_LOOKALIKES)


_RESOLVE_CODE = "SELECT id, username FROM app_user WHERE referral_code = $1 AND status = 'active'"
_RESOLVE_USERNAME = (
    "SELECT id, username FROM app_user WHERE lower(username) = $1 AND status = 'active'"
)
# Everyone the user brought in, directly or down a chain of invitations.
_IN_DOWNLINE = """
WITH RECURSIVE downline (user_id, depth) AS (
    SELECT referred_user_id, 1 FROM referral WHERE referrer_id = $1
    UNION ALL
    SELECT r.referred_user_id, d.depth + 1 FROM referral r
    JOIN downline d ON r.referrer_id = d.user_id WHERE d.depth < $3
)
SELECT EXISTS (SELECT 1 FROM downline WHERE user_id = $2)
"""
# Whether the newcomer ($1) shares a key-bound device or a payment method with the
# circle of the one who invited them ($2): that person, whoever invited them and so on
# up, and the others they invited. $3 is the device the newcomer joined from.
_SHARED = """
WITH RECURSIVE chain (user_id, depth) AS (
    SELECT $2::bigint, 1
    UNION ALL
    SELECT r.referrer_id, c.depth + 1 FROM referral r
    JOIN chain c ON r.referred_user_id = c.user_id WHERE c.depth < $4
), circle AS (
    SELECT user_id FROM chain
    UNION
    SELECT referred_user_id FROM referral WHERE referrer_id = $2 AND referred_user_id <> $1
), mine AS (
    SELECT fingerprint FROM user_device WHERE user_id = $1 AND public_key IS NOT NULL
    UNION
    SELECT $3::text WHERE $3::text IS NOT NULL
)
SELECT
    EXISTS (SELECT 1 FROM user_device d
            WHERE d.user_id IN (SELECT user_id FROM circle) AND d.public_key IS NOT NULL
              AND d.fingerprint IN (SELECT fingerprint FROM mine))
    OR EXISTS (SELECT 1 FROM referral r
               WHERE r.referred_user_id IN (SELECT user_id FROM circle)
                 AND r.joined_device IN (SELECT fingerprint FROM mine)) AS device,
    EXISTS (SELECT 1 FROM payment_method m JOIN payment_method t ON t.fingerprint = m.fingerprint
            WHERE m.user_id = $1 AND t.user_id IN (SELECT user_id FROM circle)) AS payment_method
"""
# The newcomer's biggest completed movement per currency within the window; money sent
# to the one who invited them does not count.
_MOVEMENTS = """
SELECT currency, max(amount) AS amount FROM money_transaction
WHERE initiator_user_id = $1 AND type IN ('add', 'send', 'payment') AND status = 'completed'
  AND created_at <= $3 AND counterparty_user_id IS DISTINCT FROM $2
GROUP BY currency
"""


async def _referrer(conn: Connection, code: str | None, username: str | None) -> Any:
    if code is not None:
        wanted = normalise_code(code)
        return await conn.fetchrow(_RESOLVE_CODE, wanted) if CODE.fullmatch(wanted) else None
    name = (username or "").strip().removeprefix("@").lower()
    return await conn.fetchrow(_RESOLVE_USERNAME, name) if name else None


async def join(
    user_id: int,
    rule: ReferralRule,
    *,
    code: str | None = None,
    username: str | None = None,
    device: str | None = None,
    at_sign_up: bool = False,
) -> str:
    """Record that the user joined with someone's invitation (their `code`, or, the way
    the API first took it, their `username`); the inviter's username. `device` is the
    fingerprint of the device the user joined from; only a key-bound one (`key:`) counts,
    a user agent anyone can copy. Raises `ReferralRefused`."""
    device = device if device and device.startswith("key:") else None
    async with transaction() as conn:
        me = await conn.fetchrow(
            "SELECT created_at FROM app_user WHERE id = $1 FOR UPDATE", user_id
        )
        referrer = await _referrer(conn, code, username)
        if referrer is None:
            raise ReferralRefused("UNKNOWN", "No one has that invitation code")
        referrer_id, referrer_name = int(referrer["id"]), str(referrer["username"])
        if referrer_id == user_id:
            raise ReferralRefused("OWN_CODE", "That is your own code: share it with friends")
        if await conn.fetchval("SELECT 1 FROM referral WHERE referred_user_id = $1", user_id):
            raise ReferralRefused("ALREADY_REFERRED", "You already joined with an invitation")
        qualify_by = me["created_at"] + timedelta(days=rule.days)
        if not at_sign_up and datetime.now(UTC) > qualify_by:
            raise ReferralRefused(
                "TOO_LATE", f"An invitation code can be entered in your first {rule.days} days"
            )
        if await conn.fetchval(_IN_DOWNLINE, user_id, referrer_id, CHAIN_DEPTH):
            raise ReferralRefused(
                "REFERRAL_RING",
                f"@{referrer_name} joined with your invitation: they cannot invite you",
            )
        # Joining from a device of the inviter's circle is decided at once (and quietly:
        # the answer teaches nothing), before anyone can forget the device.
        shared = await conn.fetchrow(_SHARED, user_id, referrer_id, device, CHAIN_DEPTH)
        refused = bool(shared["device"])
        await conn.execute(
            "INSERT INTO referral (referred_user_id, referrer_id, joined_device, qualify_by, "
            "status, refusal, decided_at) VALUES ($1, $2, $3, $4, $5, $6, "
            "CASE WHEN $5 = 'pending' THEN NULL ELSE now() END)",
            user_id,
            referrer_id,
            device,
            qualify_by,
            ReferralStatus.REFUSED.value if refused else ReferralStatus.PENDING.value,
            "shared_device" if refused else None,
        )
        if refused:
            log.info("referral.refused", user_id=user_id, reason="shared_device")
        await conn.execute(
            "UPDATE app_user SET referred_by = $2 WHERE id = $1", user_id, referrer_id
        )
        name = await conn.fetchval("SELECT username FROM app_user WHERE id = $1", user_id)
        await emit(
            conn,
            Topic.NOTICE,
            {
                "user_id": referrer_id,
                "kind": "referral",
                "title": "A friend joined",
                "body": f"@{name} joined with your invitation. {terms_text(rule)}",
                "dedupe_key": f"referral:{user_id}:joined",
            },
        )
    return referrer_name


async def join_at_sign_up(
    user_id: int,
    rule: ReferralRule,
    *,
    code: str | None,
    username: str | None = None,
    device: str | None = None,
) -> str | None:
    """Take the invitation a newcomer signed up with. A code that cannot be taken never
    undoes the sign-up: the wallet stays, without the referral, and the answer (also
    left in the app as a notice) says why and what they can still do."""
    if not (code or username):
        return None
    try:
        await join(user_id, rule, code=code, username=username, device=device, at_sign_up=True)
    except ReferralRefused as exc:
        notice = (
            f"Your wallet is ready, but the invitation was not applied: {exc}. You can "
            f"enter a friend's code in Rewards within {rule.days} days."
        )
        async with transaction() as conn:
            await emit(
                conn,
                Topic.NOTICE,
                {
                    "user_id": user_id,
                    "kind": "referral",
                    "title": "Invitation not applied",
                    "body": notice,
                    "dedupe_key": f"referral:{user_id}:not-applied",
                },
            )
        return notice
    return None


async def enter_code(
    user_id: int, rule: ReferralRule, code: str, device: str | None, rates: RateSnapshot
) -> str:
    """Join with a friend's code after signing up (within the window); the inviter's
    username. A newcomer who already qualifies is paid at once."""
    inviter = await join(user_id, rule, code=code, device=device)
    await settle(user_id, rule, rates)
    return inviter


def terms_text(rule: ReferralRule) -> str:
    return (
        f"You get {rule.referrer_bonus} and your friend {rule.referred_bonus} once they "
        f"verify their identity and add, send or pay {rule.minimum} or more within "
        f"{rule.days} days of joining."
    )


async def _qualified(conn: Connection, referral: Any, minimum: Money, rates: RateSnapshot) -> bool:
    rows = await conn.fetch(
        _MOVEMENTS,
        int(referral["referred_user_id"]),
        int(referral["referrer_id"]),
        referral["qualify_by"],
    )
    for row in rows:
        moved = Money(int(row["amount"]), Currency(row["currency"]))
        if moved.currency is minimum.currency:
            if minimum <= moved:
                return True
        elif rates.usd_value(moved) >= rates.usd_value(minimum):
            return True
    return False


async def settle(user_id: int, rule: ReferralRule, rates: RateSnapshot) -> ReferralStatus | None:
    """Decide the user's pending referral if it can be: pay both (once), refuse it (a
    guard), or expire it; None when there is nothing pending. Safe to call any number
    of times, at once too: the referral's row lock takes them in turn."""
    async with transaction() as conn:
        referral = await conn.fetchrow(
            "SELECT r.*, u.verification_level, u.username AS referred_name, "
            "i.username AS referrer_name, u.status = 'active' AND i.status = 'active' AS open "
            "FROM referral r "
            "JOIN app_user u ON u.id = r.referred_user_id JOIN app_user i ON i.id = r.referrer_id "
            "WHERE r.referred_user_id = $1 AND r.status = 'pending' FOR UPDATE OF r",
            user_id,
        )
        if referral is None:
            return None
        # Both accounts open (a closed one cannot be paid), the friend verified, and
        # the movement made.
        ready = (
            referral["open"]
            and referral["verification_level"] in VERIFIED_LEVELS
            and await _qualified(conn, referral, rule.minimum, rates)
        )
        if not ready:
            if datetime.now(UTC) <= referral["qualify_by"]:
                return ReferralStatus.PENDING
            await _decide(conn, user_id, ReferralStatus.EXPIRED)
            return ReferralStatus.EXPIRED
        shared = await conn.fetchrow(
            _SHARED,
            user_id,
            int(referral["referrer_id"]),
            referral["joined_device"],
            CHAIN_DEPTH,
        )
        refusal = (
            "shared_device"
            if shared["device"]
            else "shared_payment_method"
            if shared["payment_method"]
            else None
        )
        if refusal is not None:
            await _decide(conn, user_id, ReferralStatus.REFUSED, refusal)
            log.info("referral.refused", user_id=user_id, reason=refusal)
            return ReferralStatus.REFUSED
        await _pay(conn, referral, rule)
        await _decide(conn, user_id, ReferralStatus.PAID)
        return ReferralStatus.PAID


async def _decide(
    conn: Connection, user_id: int, status: ReferralStatus, refusal: str | None = None
) -> None:
    await conn.execute(
        "UPDATE referral SET status = $2, refusal = $3, decided_at = now() "
        "WHERE referred_user_id = $1",
        user_id,
        status.value,
        refusal,
    )


async def _pay(conn: Connection, referral: Any, rule: ReferralRule) -> None:
    """Both bonuses from the rewards expense account, as reward transactions, and the
    `referral_bonus` row whose key makes it once."""
    referred, referrer = int(referral["referred_user_id"]), int(referral["referrer_id"])
    first = None
    for who, bonus, title, note in (
        (
            referrer,
            rule.referrer_bonus,
            "Referral bonus",
            f"Referral bonus: @{referral['referred_name']} joined",
        ),
        (
            referred,
            rule.referred_bonus,
            "Welcome bonus",
            f"Welcome bonus: invited by @{referral['referrer_name']}",
        ),
    ):
        entry_id = await ledger.post_entry(
            conn,
            EntryDraft.transfer(
                "referral_bonus",
                await ledger.system_account_id(conn, bonus.currency, REWARDS_EXPENSE),
                await open_balance(conn, who, bonus.currency),
                bonus,
                f"referral of user {referred}",
            ),
        )
        transaction_id, _ = await transactions.record_completed(
            conn,
            transactions.NewTransaction(
                type=TransactionType.REWARD,
                amount=bonus,
                initiator_user_id=None,
                counterparty_user_id=who,
                note=note,
            ),
            entry_id,
        )
        first = first or transaction_id
        await emit(
            conn,
            Topic.NOTICE,
            {
                "user_id": who,
                "kind": "referral",
                "title": title,
                "body": f"{note}: {bonus} is in your wallet.",
                "transaction_id": transaction_id,
                "dedupe_key": f"referral:{referred}:paid:{who}",
            },
        )
    await conn.execute(
        "INSERT INTO referral_bonus (referred_user_id, referrer_id, transaction_id) "
        "VALUES ($1, $2, $3)",
        referred,
        referrer,
        first,
    )
    await emit_many(
        conn,
        Topic.BALANCE_CHANGED,
        [
            {"user_id": referrer, "currency": rule.referrer_bonus.currency.value},
            {"user_id": referred, "currency": rule.referred_bonus.currency.value},
        ],
    )


async def settle_on_notice(event_id: int, rule: ReferralRule, rates: RateSnapshot) -> bool:
    """Worker: a verification decision may be what a pending referral waited for."""
    payload = await event_payload(event_id)
    if payload is None or payload.get("kind") != "kyc":
        return False
    return await settle(int(payload["user_id"]), rule, rates) is ReferralStatus.PAID


async def program(user_id: int, rule: ReferralRule) -> Program:
    async with connection() as conn:
        me = await conn.fetchrow(
            "SELECT u.referral_code, u.created_at, i.username AS invited_by "
            "FROM app_user u LEFT JOIN referral r ON r.referred_user_id = u.id "
            "LEFT JOIN app_user i ON i.id = r.referrer_id WHERE u.id = $1",
            user_id,
        )
        friends = await conn.fetch(
            "SELECT u.username, r.created_at, CASE WHEN r.status = 'pending' "
            "AND r.qualify_by < now() THEN 'expired' ELSE r.status END AS status "
            "FROM referral r JOIN app_user u ON u.id = r.referred_user_id "
            "WHERE r.referrer_id = $1 ORDER BY r.created_at DESC LIMIT 50",
            user_id,
        )
    window_open = datetime.now(UTC) <= me["created_at"] + timedelta(days=rule.days)
    return Program(
        code=str(me["referral_code"]),
        invited_by=me["invited_by"],
        can_enter_code=me["invited_by"] is None and window_open,
        friends=[
            Friend(str(f["username"]), ReferralStatus(f["status"]), f["created_at"])
            for f in friends
        ],
    )
