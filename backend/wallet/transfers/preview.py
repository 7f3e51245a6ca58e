"""The review of a send before money moves: who gets it, what it costs, what they get,
when it arrives and the balance afterwards.

It asks what the send will ask (the amount, the recipient, the sender's wallet, their
balance and limits, the quote of a cross-currency send) and raises the same refusals, so
the review screen says "not enough money" before Confirm, not after. It writes nothing;
the send decides again under its locks.

A phone number or an email is not looked up for the review: whether it belongs to
someone with a wallet is theirs to tell (a send to it arrives at once if so, or waits
for them to claim it). A @username is public, and is looked up.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from wallet.commands import rules
from wallet.db.engine import connection
from wallet.errors import NonPositiveAmount
from wallet.fx.errors import QuoteNotFound
from wallet.fx.service import get_quote
from wallet.limits import service as limits
from wallet.limits.service import LimitScope
from wallet.money import Money
from wallet.transfers.errors import RecipientNotFound, SelfTransfer, WalletUnavailable
from wallet.transfers.models import can_receive
from wallet.transfers.service import find_recipient, recipient_lookup
from wallet.wallets.service import available_for


@dataclass(frozen=True, slots=True)
class SendPreview:
    recipient: str  # "@ann", or the phone or email as normalised
    username: str | None  # a registered recipient's, when a @username was given
    amount: Money  # what leaves the sender's balance
    fee: Money
    receives: Money  # what arrives, in the recipient's currency
    rate: Decimal | None  # customer rate of a cross-currency send (receives per 1 sent)
    arrives: str  # when, in plain words
    balance_after: Money  # the sender's available balance in `amount`'s currency after


async def preview_send(
    sender_id: int, recipient: str, amount: Money, quote_id: str | None = None
) -> SendPreview:
    """What sending `amount` to `recipient` would do, or the refusal the send would get."""
    if not amount.is_positive:
        raise NonPositiveAmount()
    column, value = recipient_lookup(recipient)
    receives, rate = amount, None
    if quote_id is not None:
        quote = await get_quote(sender_id, quote_id)
        if quote is None or quote.transaction_id is not None:
            raise QuoteNotFound()
        receives, rate = quote.bought, quote.customer_rate
    async with connection() as conn:
        wallet = await conn.fetchrow(
            "SELECT w.status, u.verification_level FROM wallet w "
            "JOIN app_user u ON u.id = w.user_id WHERE w.user_id = $1",
            sender_id,
        )
        if wallet is None or wallet["status"] != "active":
            raise WalletUnavailable("your", wallet["status"] if wallet else "missing")
        username = None
        if column == "username":
            recipient_id, username, status = await find_recipient(conn, column, value)
            if recipient_id == sender_id:
                raise SelfTransfer()
            if not can_receive(status):
                raise WalletUnavailable("recipient's", status)
            arrives = "Instantly"
        elif quote_id is not None:
            raise RecipientNotFound(value)  # money in another currency needs a wallet
        else:
            days = rules.current().unclaimed_transfer_days
            arrives = (
                "Instantly if they have a wallet; if not, they get a link to claim it "
                f"within {days} days, or it comes back to you"
            )
        available = await available_for(conn, sender_id, amount)
        await limits.check(conn, sender_id, wallet["verification_level"], amount, LimitScope.SEND)
    return SendPreview(
        recipient=f"@{username}" if username else value,
        username=username,
        amount=amount,
        fee=Money.zero(amount.currency),
        receives=receives,
        rate=rate,
        arrives=arrives,
        balance_after=Money(available - amount.amount_minor, amount.currency),
    )
