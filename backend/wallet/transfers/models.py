"""What a send is: the command, its shape-checked form, and the receipt it gets."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from wallet.commands import rules
from wallet.config import get_settings
from wallet.fraud.service import Screening
from wallet.money import Money
from wallet.rates import RateSnapshot
from wallet.security.stepup import LargeAmountCheck

MAX_NOTE_LENGTH = 280
# A restricted wallet (owing a chargeback) still receives: that is how it repays.
RECEIVING_STATUSES = frozenset({"active", "restricted"})


def frozen_can_receive() -> bool:
    """Whether a frozen wallet still receives money (WALLET_FROZEN_CAN_RECEIVE, default
    yes: a freeze stops money leaving; refusing what others send would tip the holder
    off and bounce other people's payments)."""
    return get_settings().transfers.frozen_can_receive


def can_receive(status: str | None) -> bool:
    return status in RECEIVING_STATUSES or (status == "frozen" and frozen_can_receive())


@dataclass(frozen=True, slots=True)
class SendMoney:
    sender_id: int
    recipient: str
    amount: Money
    note: str
    idempotency_key: str
    # Days an unregistered phone/email has to claim the money before it comes back.
    claim_days: int = field(default_factory=lambda: rules.current().unclaimed_transfer_days)
    # A cross-currency send: the FX quote that sells `amount`; the recipient gets its
    # buy side. Above `cross_border_threshold` (USD, valued with `rates`) the sender
    # needs full verification.
    quote_id: str | None = None
    rates: RateSnapshot | None = None
    cross_border_threshold: Money = field(
        default_factory=lambda: rules.current().cross_border_full_kyc
    )
    # Large sends need a second factor proven lately (None: no such check).
    large_amount: LargeAmountCheck | None = None
    # Where the request came from, for the fraud rules (which run either way).
    risk: Screening | None = None


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class TransferReceipt:
    """What the sender is told; replayed verbatim for a repeated idempotency key."""

    transaction_id: int
    status: str
    amount_minor: int
    currency: str
    recipient_user_id: int | None
    recipient_username: str | None
    note: str
    created_at: str
    recipient_contact: str | None = None  # an unregistered recipient's phone or email
    received_minor: int | None = None  # what arrived, when in another currency
    received_currency: str | None = None

    def to_json(self) -> dict[str, Any]:
        # Every field is a plain value: a shallow copy is the JSON (`asdict` deep-copies
        # recursively, 3 % of a batch's Python time, once per send).
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TransferReceipt:
        return cls(**data)


@dataclass(frozen=True, slots=True)
class PreparedSend:
    """A send checked for shape (no database yet): who is asking, and for what."""

    command: SendMoney
    column: str
    value: str
    principal: str
    fingerprint: str
    # The second factor the send still needs (judged before any transaction, outside
    # it: it reads the session); raised once the key, the recipient, the limits and the
    # fraud rules have had their say, before the money moves. None: none needed.
    step_up: Exception | None = None
