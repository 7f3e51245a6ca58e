"""What the platform needs from a payment gateway, and what a gateway answers.

Card numbers and bank account numbers never reach the platform: the web app sends them
to the gateway's client-side tokeniser and hands us the token. We attach the token and
learn its display details (brand or bank, last 4, expiry) from the gateway, as with a
processor's payment-method retrieval, and keep only those and the token.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from wallet.errors import Refusal
from wallet.money import Money


class GatewayError(Exception):
    """The gateway refused or could not process a request."""


class InvalidPaymentDetails(GatewayError, Refusal):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class PaymentDeclined(GatewayError):
    def __init__(self, reason: str) -> None:
        super().__init__(f"declined: {reason}")
        self.reason = reason


class GatewayTimeout(GatewayError):
    """No answer in time: the outcome is unknown until the gateway calls back."""


@dataclass(frozen=True, slots=True)
class CardToken:
    token: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    # The gateway's name for the card number itself (the same card tokenised twice, or
    # by two people, has one), as processors report it; it reveals nothing of the number.
    fingerprint: str | None = None


@dataclass(frozen=True, slots=True)
class BankToken:
    token: str
    bank_name: str
    last4: str
    fingerprint: str | None = None  # of routing and account number, as for cards


class ChargeStatus(Enum):
    SUCCEEDED = "succeeded"
    PENDING = "pending"


@dataclass(frozen=True, slots=True)
class GatewayResult:
    """The gateway's reference for an accepted request and whether it is final yet."""

    gateway_ref: str
    status: ChargeStatus


class EventType(Enum):
    """Callbacks the gateway sends about a reference it gave us."""

    CHARGE_SUCCEEDED = "charge.succeeded"
    CHARGE_FAILED = "charge.failed"
    # The card holder's bank took a completed charge back (a chargeback).
    CHARGE_DISPUTED = "charge.disputed"
    ACH_SETTLED = "ach.settled"
    ACH_RETURNED = "ach.returned"
    PAYOUT_PAID = "payout.paid"
    PAYOUT_FAILED = "payout.failed"

    @property
    def succeeded(self) -> bool:
        return self in (EventType.CHARGE_SUCCEEDED, EventType.ACH_SETTLED, EventType.PAYOUT_PAID)


@dataclass(frozen=True, slots=True)
class GatewayEvent:
    event_id: str
    type: EventType
    gateway_ref: str
    reason: str | None = None

    def to_json(self) -> dict[str, str | None]:
        return {
            "id": self.event_id,
            "type": self.type.value,
            "gateway_ref": self.gateway_ref,
            "reason": self.reason,
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> GatewayEvent:
        reason = data.get("reason")
        return cls(
            event_id=str(data["id"]),
            type=EventType(data["type"]),
            gateway_ref=str(data["gateway_ref"]),
            reason=None if reason is None else str(reason),
        )


class PaymentGateway(Protocol):
    name: str

    async def attach_card(self, token: str) -> CardToken:
        """Claim a card token the client made (once); its display details from the gateway.
        Raise `InvalidPaymentDetails` for an unknown, expired, used or non-card token."""
        ...

    async def attach_bank_account(self, token: str) -> BankToken:
        """The same for a bank account token."""
        ...

    async def detach(self, token: str) -> None:
        """Forget an attached token (the method was removed): the gateway deletes it."""
        ...

    async def charge_card(self, token: str, amount: Money, reference: str) -> GatewayResult:
        """Charge now; raise `PaymentDeclined`, or `GatewayTimeout` when the answer is late."""
        ...

    async def debit_bank_account(self, token: str, amount: Money, reference: str) -> GatewayResult:
        """Start an ACH debit: PENDING until an ach.settled or ach.returned callback."""
        ...

    async def payout(self, token: str, amount: Money, reference: str) -> GatewayResult:
        """Send money to a bank account: PENDING until payout.paid or payout.failed."""
        ...
