"""The built-in sandbox gateway: behaves like a real one at its edges.

Test numbers (as in the big gateways' test modes):

| card number          | behaviour                                   |
|----------------------|---------------------------------------------|
| 4242 4242 4242 4242  | Visa, succeeds                              |
| 5555 5555 5555 4444  | Mastercard, succeeds                        |
| 4000 0000 0000 9995  | declined: insufficient_funds                |
| 4000 0000 0000 9979  | declined: stolen_card                       |
| 4000 0000 0000 0119  | slow: no answer in time, succeeds later     |

| bank account (routing 110000000) | behaviour                         |
|----------------------------------|-----------------------------------|
| 000123456789                     | ACH debits settle, payouts paid   |
| 000111111116                     | ACH debits returned R01           |
| 000111111113                     | account closed: R02 on both       |

ACH debits settle 1 to 3 simulated days after they start, payouts one day after; a
simulated day lasts `day_seconds` real seconds, and `advance` moves the sandbox clock
(tests and demos). Every callback is delivered twice, as real gateways sometimes do.
The sandbox keeps its vault and its queue of callbacks in Redis: it is the outside
world, not our database.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import time
from datetime import UTC, datetime

from redis.asyncio import Redis

from wallet.gateway.base import (
    BankToken,
    CardToken,
    ChargeStatus,
    EventType,
    GatewayEvent,
    GatewayResult,
    InvalidPaymentDetails,
    PaymentDeclined,
)
from wallet.money import Money

DECLINES = {
    "4000000000009995": "insufficient_funds",
    "4000000000009979": "stolen_card",
}
SLOW_CARD = "4000000000000119"
ACH_RETURNS = {"000111111116": "R01", "000111111113": "R02"}
RETURN_REASONS = {"R01": "R01: insufficient funds", "R02": "R02: account closed"}
BANK_NAMES = {"110000000": "Sandbox Bank"}

_VAULT = "sandbox:gateway:vault:"
_EVENTS = "sandbox:gateway:events"
_CLOCK = "sandbox:gateway:clock_offset"


def luhn_valid(number: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def card_brand(number: str) -> str:
    if number.startswith("4"):
        return "Visa"
    if number[:2] in {"51", "52", "53", "54", "55"} or 2221 <= int(number[:4]) <= 2720:
        return "Mastercard"
    if number[:2] in {"34", "37"}:
        return "American Express"
    if number.startswith("6011") or number.startswith("65"):
        return "Discover"
    return "Card"


def routing_valid(routing: str) -> bool:
    """ABA routing number checksum (3-7-1 weights)."""
    if len(routing) != 9 or not routing.isdigit():
        return False
    d = [int(c) for c in routing]
    return (3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + (d[2] + d[5] + d[8])) % 10 == 0


class SandboxGateway:
    name = "sandbox"

    def __init__(
        self, redis: Redis, *, day_seconds: float = 60.0, slow_seconds: float = 30.0
    ) -> None:
        self._redis = redis
        self.day_seconds = day_seconds
        self.slow_seconds = slow_seconds

    # --- the sandbox clock -------------------------------------------------------------

    async def now(self) -> float:
        offset = await self._redis.get(_CLOCK)
        return time.time() + float(offset or 0)

    async def advance(self, days: float) -> None:
        """Move the sandbox clock forward by `days` simulated days."""
        await self._redis.incrbyfloat(_CLOCK, days * self.day_seconds)

    # --- tokens ------------------------------------------------------------------------

    async def tokenize_card(
        self, number: str, exp_month: int, exp_year: int, cvc: str
    ) -> CardToken:
        digits = number.replace(" ", "").replace("-", "")
        if not digits.isdigit() or not 12 <= len(digits) <= 19 or not luhn_valid(digits):
            raise InvalidPaymentDetails("number", "That card number is not valid")
        if not 1 <= exp_month <= 12:
            raise InvalidPaymentDetails("expMonth", "The expiry month must be 1 to 12")
        today = datetime.now(UTC)
        if (exp_year, exp_month) < (today.year, today.month) or exp_year > today.year + 20:
            raise InvalidPaymentDetails("expYear", "The card has expired")
        if not cvc.isdigit() or len(cvc) not in (3, 4):
            raise InvalidPaymentDetails("cvc", "The security code is 3 or 4 digits")
        token = "tok_card_" + secrets.token_hex(12)
        await self._redis.set(_VAULT + token, json.dumps({"kind": "card", "number": digits}))
        return CardToken(token, card_brand(digits), digits[-4:], exp_month, exp_year)

    async def tokenize_bank_account(
        self, routing_number: str, account_number: str, holder_name: str
    ) -> BankToken:
        if not routing_valid(routing_number):
            raise InvalidPaymentDetails("routingNumber", "That routing number is not valid")
        if not account_number.isdigit() or not 4 <= len(account_number) <= 17:
            raise InvalidPaymentDetails("accountNumber", "An account number is 4 to 17 digits")
        if not holder_name.strip():
            raise InvalidPaymentDetails("holderName", "The account holder's name is required")
        token = "tok_bank_" + secrets.token_hex(12)
        await self._redis.set(
            _VAULT + token, json.dumps({"kind": "bank", "account": account_number})
        )
        bank = BANK_NAMES.get(routing_number, f"Bank {routing_number[:4]}")
        return BankToken(token, bank, account_number[-4:])

    async def _vaulted(self, token: str, kind: str) -> dict[str, str]:
        raw = await self._redis.get(_VAULT + token)
        if raw is None:
            raise InvalidPaymentDetails("paymentMethod", "Unknown payment method token")
        data: dict[str, str] = json.loads(raw)
        if data["kind"] != kind:
            raise InvalidPaymentDetails("paymentMethod", f"That payment method is not a {kind}")
        return data

    # --- money -------------------------------------------------------------------------

    async def charge_card(self, token: str, amount: Money, reference: str) -> GatewayResult:
        number = (await self._vaulted(token, "card"))["number"]
        if number in DECLINES:
            raise PaymentDeclined(DECLINES[number])
        if number == SLOW_CARD:
            # The charge goes through on the gateway's side, but the answer is late.
            await self._schedule(EventType.CHARGE_SUCCEEDED, reference, None, delay=2.0)
            await asyncio.sleep(self.slow_seconds)
        return GatewayResult(reference, ChargeStatus.SUCCEEDED)

    async def debit_bank_account(self, token: str, amount: Money, reference: str) -> GatewayResult:
        account = (await self._vaulted(token, "bank"))["account"]
        days = 1 + int(hashlib.sha256(reference.encode()).hexdigest(), 16) % 3
        code = ACH_RETURNS.get(account)
        if code is None:
            await self._schedule(EventType.ACH_SETTLED, reference, None, days * self.day_seconds)
        else:
            reason = RETURN_REASONS[code]
            await self._schedule(EventType.ACH_RETURNED, reference, reason, days * self.day_seconds)
        return GatewayResult(reference, ChargeStatus.PENDING)

    async def payout(self, token: str, amount: Money, reference: str) -> GatewayResult:
        account = (await self._vaulted(token, "bank"))["account"]
        if account == "000111111113":
            await self._schedule(
                EventType.PAYOUT_FAILED, reference, RETURN_REASONS["R02"], self.day_seconds
            )
        else:
            await self._schedule(EventType.PAYOUT_PAID, reference, None, self.day_seconds)
        return GatewayResult(reference, ChargeStatus.PENDING)

    # --- callbacks ---------------------------------------------------------------------

    async def _schedule(
        self, event_type: EventType, reference: str, reason: str | None, delay: float
    ) -> None:
        event = GatewayEvent("evt_" + secrets.token_hex(10), event_type, reference, reason)
        due = await self.now() + delay
        body = json.dumps(event.to_json())
        # The same event twice: consumers must treat the second as a duplicate.
        await self._redis.zadd(_EVENTS, {body: due, body + " ": due + 1})

    async def report_chargeback(self, reference: str, reason: str = "fraudulent") -> None:
        """What a card network does weeks later: the charge is disputed by the card holder."""
        await self._schedule(EventType.CHARGE_DISPUTED, reference, reason, delay=0)

    async def take_due_events(self) -> list[GatewayEvent]:
        """Remove and return every callback that is due by the sandbox clock."""
        now = await self.now()
        due: list[GatewayEvent] = []
        for member in await self._redis.zrangebyscore(_EVENTS, "-inf", now):
            if await self._redis.zrem(_EVENTS, member):
                due.append(GatewayEvent.from_json(json.loads(member)))
        return due

    async def redeliver_later(self, event: GatewayEvent, delay: float = 2.0) -> None:
        await self._redis.zadd(_EVENTS, {json.dumps(event.to_json()): await self.now() + delay})
