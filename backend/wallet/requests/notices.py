"""What people are told about a money request: the payer when it opens, the requester
when it is paid, declined or expires. The requests domain composes the notice;
`wallet.notifications` writes and sends it."""

from __future__ import annotations

from wallet.money import format_money
from wallet.notifications.email import EmailProvider
from wallet.notifications.money import Notice, deliver_notices, event_payload
from wallet.requests.tables import MoneyRequest


async def notify_money_request(event_id: int, *, email: EmailProvider) -> int:
    payload = await event_payload(event_id)
    if payload is None:
        return 0
    r = (
        await MoneyRequest.select(
            *MoneyRequest.all_columns(),
            MoneyRequest.requester_id.username.as_alias("requester"),
            MoneyRequest.payer_id.username.as_alias("payer"),
        )
        .where(MoneyRequest.id == int(payload["request_id"]))
        .first()
    )
    if r is None:
        return 0
    status = str(payload["status"])
    money = format_money(int(r["amount"]), r["currency"])
    key = f"request:{r['id']}:{status}"
    notices = {
        "open": Notice(
            r["payer_id"],
            "money_requested",
            f"@{r['requester']} requests {money}",
            r["note"] or "Open the app to pay or decline",
            key,
            request_id=r["id"],
        ),
        "paid": Notice(
            r["requester_id"], "request_paid", f"@{r['payer']} paid your request", money, key
        ),
        "declined": Notice(
            r["requester_id"],
            "request_declined",
            f"@{r['payer']} declined your request",
            money,
            key,
        ),
        "expired": Notice(r["requester_id"], "request_expired", "Your request expired", money, key),
    }
    chosen = notices.get(status)
    if chosen is None or chosen.user_id is None:  # no payer yet: the invite told them
        return 0
    return await deliver_notices([chosen], email)
