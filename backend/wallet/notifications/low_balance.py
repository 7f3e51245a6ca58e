"""Low-balance alerts: a threshold per user and currency, and the alert when a debit
takes the available balance below it.

An alert is *armed* while the balance is at or above its threshold. The worker looks
after each transaction event: an armed alert whose balance is now below fires once and
disarms (claimed by one UPDATE, so two jobs racing fire it once); a disarmed alert whose
balance is back at or above re-arms. So it fires when a debit crosses the threshold, not
on every debit below it.
"""

from __future__ import annotations

from dataclasses import dataclass

from wallet.db.engine import connection, transaction
from wallet.money import Currency, Money
from wallet.notifications.email import EmailProvider
from wallet.notifications.money import Notice, deliver_notices, event_payload
from wallet.notifications.sms import SmsProvider
from wallet.wallets import service as wallets


class ThresholdNotPositive(Exception):
    def __init__(self) -> None:
        super().__init__("The threshold must be more than zero")


@dataclass(frozen=True, slots=True)
class LowBalanceAlert:
    threshold: Money
    armed: bool


async def _available(user_id: int, currency: Currency) -> int | None:
    balance = await wallets.get_balance(user_id, currency)
    return None if balance is None else balance.available


async def set_alert(user_id: int, threshold: Money) -> LowBalanceAlert:
    """Alert the user when their `threshold.currency` balance falls below `threshold`.
    Armed only if the balance is at or above it now: a balance already below is not
    news, and the next alert waits until it has been back up."""
    if not threshold.is_positive:
        raise ThresholdNotPositive()
    available = await _available(user_id, threshold.currency)
    armed = available is None or available >= threshold.amount_minor
    async with transaction() as conn:
        await conn.execute(
            """INSERT INTO low_balance_alert (user_id, currency, threshold_minor, armed)
               VALUES ($1, $2, $3, $4)
               ON CONFLICT (user_id, currency) DO UPDATE
                  SET threshold_minor = EXCLUDED.threshold_minor, armed = EXCLUDED.armed,
                      updated_at = now()""",
            user_id,
            threshold.currency.value,
            threshold.amount_minor,
            armed,
        )
    return LowBalanceAlert(threshold, armed)


async def remove_alert(user_id: int, currency: Currency) -> bool:
    async with transaction() as conn:
        gone = await conn.fetchval(
            "DELETE FROM low_balance_alert WHERE user_id = $1 AND currency = $2 RETURNING 1",
            user_id,
            currency.value,
        )
    return gone is not None


async def alerts_of(user_id: int) -> list[LowBalanceAlert]:
    async with connection() as conn:
        rows = await conn.fetch(
            "SELECT currency, threshold_minor, armed FROM low_balance_alert "
            "WHERE user_id = $1 ORDER BY currency",
            user_id,
        )
    return [
        LowBalanceAlert(Money(int(r["threshold_minor"]), Currency(r["currency"])), r["armed"])
        for r in rows
    ]


async def check_on_event(
    event_id: int, *, email: EmailProvider, sms: SmsProvider | None = None
) -> int:
    """Worker, after a `transaction.updated` event: fire or re-arm the alerts of the
    users it touched. How many alerts fired."""
    payload = await event_payload(event_id)
    if payload is None:
        return 0
    fired = 0
    for user_id in (int(u) for u in payload.get("user_ids", [])):
        for alert in await alerts_of(user_id):
            fired += await _check(user_id, alert, event_id, email, sms)
    return fired


async def _check(
    user_id: int,
    alert: LowBalanceAlert,
    event_id: int,
    email: EmailProvider,
    sms: SmsProvider | None,
) -> int:
    currency = alert.threshold.currency
    available = await _available(user_id, currency)
    if available is None:
        return 0
    below = available < alert.threshold.amount_minor
    async with transaction() as conn:
        # Fire: disarm if armed and below. Re-arm: if disarmed and back up. The same
        # event again (its job retried after the disarm committed but the delivery
        # failed) fires again; the notice's key makes that one notice, not two.
        changed = await conn.fetchval(
            """UPDATE low_balance_alert SET armed = NOT $3,
                      last_fired_at = CASE WHEN $3 THEN now() ELSE last_fired_at END,
                      fired_event_id = CASE WHEN $3 THEN $4 ELSE fired_event_id END
                WHERE user_id = $1 AND currency = $2
                  AND (armed = $3 OR ($3 AND fired_event_id = $4))
               RETURNING 1""",
            user_id,
            currency.value,
            below,
            event_id,
        )
    if not (below and changed):
        return 0
    balance = Money(available, currency).display()
    notice = Notice(
        user_id,
        "low_balance",
        f"Your {currency.value} balance is low: {balance}",
        f"It fell below the {alert.threshold.display()} you set. Add money to keep paying.",
        f"low_balance:{user_id}:{currency.value}:{event_id}",
        link="/wallet",
    )
    return await deliver_notices([notice], email, sms)
