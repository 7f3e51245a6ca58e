"""Notifications about money: received, requested, failed, returned.

Jobs run from outbox events (at least once). Each notification has a dedupe key, so
a job run twice writes one in-app row and sends one email.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import structlog

from wallet.db.engine import transaction
from wallet.db.tables import database_now
from wallet.identity.tables import AppUser
from wallet.money import Currency, Money
from wallet.notifications.email import EmailMessage, EmailProvider, EmailRejected
from wallet.notifications.sms import SmsProvider, SmsRejected
from wallet.notifications.tables import Notification
from wallet.outbox.tables import OutboxEvent
from wallet.transactions.tables import MoneyTransaction

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Notice:
    user_id: int
    kind: str
    title: str
    body: str
    dedupe_key: str
    transaction_id: int | None = None
    request_id: int | None = None
    # Another address to email as well (the old one, when the email on file changed).
    email_also: str | None = None
    # Also by SMS to the phone on file (security alerts go out on every channel).
    sms: bool = False


@dataclass(frozen=True, slots=True)
class InAppNotification:
    id: int
    kind: str
    title: str
    body: str
    transaction_id: int | None
    request_id: int | None
    read: bool
    created_at: Any


async def event_payload(event_id: int) -> dict[str, Any] | None:
    row = await OutboxEvent.select(OutboxEvent.payload).where(OutboxEvent.id == event_id).first()
    return None if row is None else dict(json.loads(row["payload"]))


def _transaction_notices(t: Any, status: str) -> list[Notice]:
    amount = Money(int(t["amount"]), Currency(t["currency"])).format()
    money = f"{amount} {t['currency']}"
    key = f"txn:{t['id']}:{status}"
    initiator, counterparty = t["initiator_user_id"], t["counterparty_user_id"]
    notices: list[Notice] = []

    def notice(user_id: int, kind: str, title: str, body: str) -> None:
        notices.append(Notice(user_id, kind, title, body, f"{key}:{user_id}", int(t["id"])))

    match (t["type"], status):
        case ("send", "completed") if counterparty is not None:
            sender = t["initiator_username"] or "Someone"
            note = f": {t['note']}" if t["note"] else ""
            notice(counterparty, "money_received", f"You received {money}", f"From @{sender}{note}")
        case ("send", "expired") if initiator is not None:
            notice(
                initiator,
                "transfer_returned",
                f"{money} came back to you",
                f"{t['recipient_contact']} did not claim it in time",
            )
        case ("add", "completed") if initiator is not None:
            notice(initiator, "money_added", f"{money} added to your wallet", "It is ready to use")
        case ("add" | "withdrawal", "failed" | "expired") if initiator is not None:
            what = "Adding money" if t["type"] == "add" else "Your withdrawal"
            reason = t["failure_reason"] or "the bank did not confirm it in time"
            notice(initiator, "payment_failed", f"{what} of {money} failed", reason)
        case ("withdrawal", "completed") if initiator is not None:
            notice(initiator, "withdrawal_paid", f"{money} is on its way to your bank", "Paid out")
        case (_, "reversed"):
            for user_id in (initiator, counterparty):
                if user_id is not None:
                    notice(user_id, "reversed", f"A payment of {money} was reversed", "See details")
    return notices


async def deliver_notices(
    notices: list[Notice], email: EmailProvider, sms: SmsProvider | None = None
) -> int:
    """Write each notice once; email (and for security alerts, text) the ones that were
    new. Return how many were new."""
    fresh = 0
    for n in notices:
        async with transaction():
            inserted = (
                await Notification.insert(
                    Notification(
                        user_id=n.user_id,
                        kind=n.kind,
                        title=n.title,
                        body=n.body,
                        transaction_id=n.transaction_id,
                        request_id=n.request_id,
                        dedupe_key=n.dedupe_key,
                    )
                )
                .on_conflict(target=Notification.dedupe_key, action="DO NOTHING")
                .returning(Notification.id)
            )
            contact = (
                await AppUser.select(AppUser.email, AppUser.phone)
                .where(AppUser.id == n.user_id)
                .first()
            )
        if not inserted:
            continue
        fresh += 1
        address = contact["email"] if contact else None
        if n.sms and sms is not None and contact is not None:
            try:
                await sms.send(contact["phone"], f"{n.title}. {n.body}")
            except SmsRejected as exc:
                log.warning("notification.sms_rejected", user_id=n.user_id, reason=exc.reason)
        for to in dict.fromkeys(a for a in (address, n.email_also) if a):
            try:
                await email.send(EmailMessage(to=to, subject=n.title, body=n.body))
            except EmailRejected as exc:
                log.warning("notification.email_rejected", user_id=n.user_id, reason=exc.reason)
    return fresh


async def notify_transaction(event_id: int, *, email: EmailProvider) -> int:
    payload = await event_payload(event_id)
    if payload is None:
        return 0
    t = (
        await MoneyTransaction.select(
            *MoneyTransaction.all_columns(),
            MoneyTransaction.initiator_user_id.username.as_alias("initiator_username"),
        )
        .where(MoneyTransaction.id == int(payload["transaction_id"]))
        .first()
    )
    if t is None:
        return 0
    return await deliver_notices(_transaction_notices(t, str(payload["status"])), email)


async def send_invite(event_id: int, *, email: EmailProvider, sms: SmsProvider) -> str:
    """Tell a contact with no wallet that money waits for them, that someone asks them
    for money, or that someone invites them to split bills (email or SMS)."""
    payload = await event_payload(event_id)
    if payload is None:
        return "missing"
    subject, text = _invite_text(payload)
    try:
        if payload["kind"] == "email":
            await email.send(EmailMessage(payload["contact"], subject, text))
        else:
            await sms.send(payload["contact"], text)
    except (EmailRejected, SmsRejected) as exc:
        log.warning("notification.invite_rejected", event_id=event_id, reason=str(exc))
        return "rejected"
    return "sent"


def _invite_text(p: dict[str, Any]) -> tuple[str, str]:
    """(subject, text) of an invite; events written before `reason` existed are sends."""
    sign_up = f"Sign up with this {p['kind']}"
    match p.get("reason"):
        case "money_request":
            return "Someone asks you for money", (
                f"@{p['sender']} asks you for {p['amount']} {p['currency']} on Wallet. "
                f"{sign_up} within {p['days']} days to see the request."
            )
        case "split_group":
            # No group name: free text from a stranger is not relayed to people who
            # never signed up (nor is a request's note).
            return "You are invited to split bills", (
                f"@{p['sender']} invites you to split bills together on Wallet. "
                f"{sign_up} to accept or decline."
            )
        case _:
            return "Money is waiting for you", (
                f"@{p['sender']} sent you {p['amount']} {p['currency']} on Wallet. "
                f"{sign_up} within {p['days']} days to claim it."
            )


async def notifications_of(user_id: int, first: int = 50) -> list[InAppNotification]:
    rows = await (
        Notification.select(
            Notification.id,
            Notification.kind,
            Notification.title,
            Notification.body,
            Notification.transaction_id,
            Notification.request_id,
            Notification.read_at,
            Notification.created_at,
        )
        .where(Notification.user_id == user_id)
        .order_by(Notification.id, ascending=False)
        .limit(max(1, min(first, 100)))
    )
    return [
        InAppNotification(
            id=int(r["id"]),
            kind=r["kind"],
            title=r["title"],
            body=r["body"],
            transaction_id=r["transaction_id"],
            request_id=r["request_id"],
            read=r["read_at"] is not None,
            created_at=r["created_at"],
        )
        for r in rows
    ]


async def mark_read(user_id: int) -> int:
    async with transaction():
        rows = (
            await Notification.update({Notification.read_at: database_now()})
            .where((Notification.user_id == user_id) & Notification.read_at.is_null())
            .returning(Notification.id)
        )
    return len(rows)


async def deliver_notice(
    event_id: int, *, email: EmailProvider, sms: SmsProvider | None = None
) -> int:
    """Deliver a `notice` event written by a service (KYC decisions, holds, freezes)."""
    payload = await event_payload(event_id)
    if payload is None:
        return 0
    notice = Notice(
        int(payload["user_id"]),
        payload["kind"],
        payload["title"],
        payload["body"],
        payload["dedupe_key"],
        transaction_id=payload.get("transaction_id"),
        email_also=payload.get("email_also"),
        sms=bool(payload.get("sms")),
    )
    return await deliver_notices([notice], email, sms)


async def notify_new_device(event_id: int, *, email: EmailProvider) -> int:
    """Tell the user about a sign-in from a device not seen before."""
    payload = await event_payload(event_id)
    if payload is None:
        return 0
    where = f" ({payload['ip']})" if payload.get("ip") else ""
    notice = Notice(
        int(payload["user_id"]),
        "new_device",
        f"New sign-in: {payload['label']}",
        f"Someone signed in to your wallet from {payload['label']}{where}. "
        "If it was not you, sign that session out and change your password.",
        f"device:{payload['device_id']}",
    )
    return await deliver_notices([notice], email)
