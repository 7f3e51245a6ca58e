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
from wallet.identity.tables import AppUser
from wallet.money import Money, format_money
from wallet.notifications import preferences
from wallet.notifications.email import EmailMessage, EmailProvider, EmailRejected
from wallet.notifications.preferences import Channel
from wallet.notifications.sms import SmsProvider, SmsRejected
from wallet.notifications.tables import Notification
from wallet.outbox.service import Topic, emit
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
    # Where a tap leads, when neither the transaction nor the request says ("/insights").
    link: str | None = None


async def event_payload(event_id: int) -> dict[str, Any] | None:
    row = await OutboxEvent.select(OutboxEvent.payload).where(OutboxEvent.id == event_id).first()
    return None if row is None else dict(json.loads(row["payload"]))


def _transaction_notices(t: Any, status: str) -> list[Notice]:
    money = format_money(int(t["amount"]), t["currency"])
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
        case ("payment", "completed") if initiator is not None and t["merchant_id"] is not None:
            # The payer's receipt; the merchant hears through its webhooks and dashboard.
            merchant = t.get("merchant_name") or "the merchant"
            notice(initiator, "payment_receipt", f"You paid {money} to {merchant}", "Receipt")
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
    """Write each notice once, on the channels the user's preferences choose for its
    kind; email (and text) the ones that were new. Return how many were new.

    The in-app row doubles as the record that a notice was delivered (its dedupe key):
    with in-app off it is written all the same, hidden from the centre. Its
    `notification.created` event, in the same transaction, wakes the user's open
    notification centres and the Web Push job."""
    fresh = 0
    for n in notices:
        kind = preferences.kind_of(n.kind, security=n.sms)
        channels = await preferences.channels_for(n.user_id, kind)
        async with transaction() as conn:
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
                        link=n.link,
                        in_app=Channel.IN_APP in channels,
                    )
                )
                .on_conflict(target=Notification.dedupe_key, action="DO NOTHING")
                .returning(Notification.id)
            )
            if inserted:
                await emit(
                    conn,
                    Topic.NOTIFICATION_CREATED,
                    {"notification_id": inserted[0]["id"], "user_id": n.user_id},
                )
            contact = (
                await AppUser.select(AppUser.email, AppUser.phone)
                .where(AppUser.id == n.user_id)
                .first()
            )
        if not inserted:
            continue
        fresh += 1
        # A security alert is texted when it asks to be; anything else when the user
        # turned texts on for its kind.
        texted = n.sms if kind is preferences.Kind.SECURITY else Channel.SMS in channels
        if texted and sms is not None and contact is not None and contact["phone"]:
            try:
                await sms.send(contact["phone"], f"{n.title}. {n.body}")
            except SmsRejected as exc:
                log.warning("notification.sms_rejected", user_id=n.user_id, reason=exc.reason)
        address = contact["email"] if contact and Channel.EMAIL in channels else None
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
            MoneyTransaction.merchant_id.name.as_alias("merchant_name"),
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
    amount = Money.parse(str(p["amount"]), str(p["currency"])).display() if "amount" in p else ""
    match p.get("reason"):
        case "money_request":
            return "Someone asks you for money", (
                f"@{p['sender']} asks you for {amount} on Wallet. "
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
                f"@{p['sender']} sent you {amount} on Wallet. "
                f"{sign_up} within {p['days']} days to claim it."
            )


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
        link=payload.get("link"),
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
        link="/settings/security",
    )
    return await deliver_notices([notice], email)
