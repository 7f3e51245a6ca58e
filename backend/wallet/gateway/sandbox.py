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

The sandbox keeps its own books of what moved (a card charge, a chargeback, an ACH debit
that settled, a payout paid), each on the date it settled, and writes each day's
settlement files from them (`settlement_files`): the processor's CSV and the bank's
camt.053 statement of the safeguarding account (`wallet.gateway.settlement_files`).
`inject_break` makes the next files wrong the ways real ones are: an item missing,
duplicated, with the wrong amount, an item nobody knows, an item a day late, or one
without its reference (so it matches only by amount, date and counterparty).

Card and bank details reach the vault only through the client-side tokeniser
(`wallet.gateway.tokenizer`); the API attaches the token and learns the display
details. Vault entries are sealed with the PII keyring (associated data naming the
token) and expire: an unattached token after `TOKEN_SECONDS`, an attached one after
`ATTACHED_IDLE_SECONDS` without use (each use renews it; a card's never outlives its
expiry month); detaching deletes it at once.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

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
from wallet.gateway.settlement_files import (
    BANK_KINDS,
    PROCESSOR_KINDS,
    Balances,
    Line,
    batch_id,
    write_camt053,
    write_processor_csv,
)
from wallet.money import Currency, Money
from wallet.security import keys
from wallet.security.crypto import DecryptionError, Keyring

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
_BOOK = "sandbox:gateway:book"
_BREAKS = "sandbox:gateway:breaks"
SAFEGUARDING_ACCOUNT = "SANDBOX-SAFEGUARDING"
BREAK_KINDS = ("missing", "duplicate", "amount_mismatch", "unknown", "late", "no_reference")

# A token the browser made must be attached within the hour (a form left open, a
# step-up prompt); after that it is gone, like a processor's one-time tokens.
TOKEN_SECONDS = 60 * 60
# An attached card or bank account stays while it is used: 13 months without a charge,
# debit or payout and it is forgotten (covers yearly subscriptions).
ATTACHED_IDLE_SECONDS = 396 * 24 * 60 * 60

# Attach a vaulted token once: -1 unknown (or expired), 0 already attached, 1 attached.
_ATTACH = """
if redis.call('HEXISTS', KEYS[1], 'sealed') == 0 then return -1 end
if redis.call('HSETNX', KEYS[1], 'attached', '1') == 0 then return 0 end
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1
"""


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


def new_token(kind: str) -> str:
    """`tok_<kind>_` and 120 random bits in lowercase base32 (letters and 2-7): a run of
    12 digits is vanishingly rare, so a token is not mistaken for a card number."""
    return f"tok_{kind}_" + base64.b32encode(secrets.token_bytes(15)).decode().lower()


def _until_card_expires(exp_month: int, exp_year: int, now: datetime) -> int:
    """Seconds until the end of the card's expiry month (at least a minute)."""
    end = datetime(exp_year + exp_month // 12, exp_month % 12 + 1, 1, tzinfo=UTC)
    return max(60, int((end - now).total_seconds()))


def routing_valid(routing: str) -> bool:
    """ABA routing number checksum (3-7-1 weights)."""
    if len(routing) != 9 or not routing.isdigit():
        return False
    d = [int(c) for c in routing]
    return (3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + (d[2] + d[5] + d[8])) % 10 == 0


class SandboxGateway:
    name = "sandbox"

    def __init__(
        self,
        redis: Redis,
        *,
        day_seconds: float = 60.0,
        slow_seconds: float = 30.0,
        keyring: Keyring | None = None,
    ) -> None:
        self._redis = redis
        self.day_seconds = day_seconds
        self.slow_seconds = slow_seconds
        self._keyring = keyring or keys.keyring()
        self._attach = redis.register_script(_ATTACH)

    # --- the sandbox clock -------------------------------------------------------------

    async def now(self) -> float:
        offset = await self._redis.get(_CLOCK)
        return time.time() + float(offset or 0)

    async def advance(self, days: float) -> None:
        """Move the sandbox clock forward by `days` simulated days."""
        await self._redis.incrbyfloat(_CLOCK, days * self.day_seconds)

    # --- tokens: made by the client-side tokeniser, attached by the API ------------------

    async def tokenize_card(self, number: str, exp_month: int, exp_year: int, cvc: str) -> str:
        """Validate card details from the browser and vault them; the token. The CVC is
        checked and never stored."""
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
        details = {"number": digits, "exp_month": exp_month, "exp_year": exp_year}
        return await self._vault("card", details)

    async def tokenize_bank_account(
        self, routing_number: str, account_number: str, holder_name: str
    ) -> str:
        """Validate bank details from the browser and vault them; the token."""
        if not routing_valid(routing_number):
            raise InvalidPaymentDetails("routingNumber", "That routing number is not valid")
        if not account_number.isdigit() or not 4 <= len(account_number) <= 17:
            raise InvalidPaymentDetails("accountNumber", "An account number is 4 to 17 digits")
        if not holder_name.strip():
            raise InvalidPaymentDetails("holderName", "The account holder's name is required")
        details = {
            "routing": routing_number,
            "account": account_number,
            "holder": holder_name.strip(),
        }
        return await self._vault("bank", details)

    async def _vault(self, kind: str, details: dict[str, Any]) -> str:
        token = new_token(kind)
        sealed = self._keyring.encrypt(json.dumps({"kind": kind, **details}), _VAULT + token)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(_VAULT + token, "sealed", sealed)
            pipe.expire(_VAULT + token, TOKEN_SECONDS)
            await pipe.execute()
        return token

    async def _unseal(self, token: str) -> dict[str, Any] | None:
        sealed = await self._redis.hget(_VAULT + token, "sealed")
        if sealed is None:
            return None
        text = sealed.decode() if isinstance(sealed, bytes) else str(sealed)
        try:
            data: dict[str, Any] = json.loads(self._keyring.decrypt(text, _VAULT + token))
        except DecryptionError:
            return None  # moved from another token's entry, or its key was dropped
        return data

    def _attached_ttl(self, data: dict[str, Any]) -> int:
        if data["kind"] == "card":
            card_left = _until_card_expires(
                int(data["exp_month"]), int(data["exp_year"]), datetime.now(UTC)
            )
            return min(ATTACHED_IDLE_SECONDS, card_left)
        return ATTACHED_IDLE_SECONDS

    async def _claim(self, token: str, kind: str) -> dict[str, Any]:
        data = await self._unseal(token)
        if data is None:
            raise InvalidPaymentDetails("token", "That token is unknown or has expired")
        if data["kind"] != kind:
            raise InvalidPaymentDetails("token", f"That token is not a {kind} token")
        attached = await self._attach(keys=[_VAULT + token], args=[self._attached_ttl(data)])
        if attached == -1:
            raise InvalidPaymentDetails("token", "That token is unknown or has expired")
        if attached == 0:
            raise InvalidPaymentDetails("token", "That token was already used")
        return data

    def fingerprint(self, kind: str, number: str) -> str:
        """The card's (or account's) fingerprint: keyed, so that a fingerprint cannot be
        turned back into the number by trying them all. Keyed by the current PII key, so
        a key rotation starts new fingerprints (sandbox only: a real gateway keeps its
        own stable)."""
        key = hmac.new(
            self._keyring.keys[self._keyring.current], b"sandbox-gateway:fingerprint", "sha256"
        ).digest()
        digest = hmac.new(key, f"{kind}:{number}".encode(), "sha256").hexdigest()
        return "fp_" + digest[:32]

    async def attach_card(self, token: str) -> CardToken:
        data = await self._claim(token, "card")
        number = str(data["number"])
        return CardToken(
            token,
            card_brand(number),
            number[-4:],
            int(data["exp_month"]),
            int(data["exp_year"]),
            self.fingerprint("card", number),
        )

    async def attach_bank_account(self, token: str) -> BankToken:
        data = await self._claim(token, "bank")
        routing, account = str(data["routing"]), str(data["account"])
        return BankToken(
            token,
            BANK_NAMES.get(routing, f"Bank {routing[:4]}"),
            account[-4:],
            self.fingerprint("bank", f"{routing}/{account}"),
        )

    async def detach(self, token: str) -> None:
        await self._redis.delete(_VAULT + token)

    async def _vaulted(self, token: str, kind: str) -> dict[str, Any]:
        """An attached token's details for a charge, debit or payout; the use keeps it."""
        data = await self._unseal(token)
        if data is None or not await self._redis.hexists(_VAULT + token, "attached"):
            raise InvalidPaymentDetails("paymentMethod", "Unknown payment method token")
        if data["kind"] != kind:
            raise InvalidPaymentDetails("paymentMethod", f"That payment method is not a {kind}")
        await self._redis.expire(_VAULT + token, self._attached_ttl(data))
        return data

    # --- money -------------------------------------------------------------------------

    async def charge_card(self, token: str, amount: Money, reference: str) -> GatewayResult:
        number = (await self._vaulted(token, "card"))["number"]
        if number in DECLINES:
            raise PaymentDeclined(DECLINES[number])
        await self._book("charge", reference, amount, f"{card_brand(number)} ****{number[-4:]}")
        if number == SLOW_CARD:
            # The charge goes through on the gateway's side, but the answer is late.
            await self._schedule(EventType.CHARGE_SUCCEEDED, reference, None, delay=2.0)
            await asyncio.sleep(self.slow_seconds)
        return GatewayResult(reference, ChargeStatus.SUCCEEDED)

    async def debit_bank_account(self, token: str, amount: Money, reference: str) -> GatewayResult:
        bank = await self._vaulted(token, "bank")
        account = bank["account"]
        days = 1 + int(hashlib.sha256(reference.encode()).hexdigest(), 16) % 3
        code = ACH_RETURNS.get(account)
        if code is None:
            await self._schedule(EventType.ACH_SETTLED, reference, None, days * self.day_seconds)
            await self._book(
                "ach_debit", reference, amount, _bank_party(bank), days * self.day_seconds
            )
        else:
            reason = RETURN_REASONS[code]
            await self._schedule(EventType.ACH_RETURNED, reference, reason, days * self.day_seconds)
        return GatewayResult(reference, ChargeStatus.PENDING)

    async def payout(self, token: str, amount: Money, reference: str) -> GatewayResult:
        bank = await self._vaulted(token, "bank")
        if bank["account"] == "000111111113":
            await self._schedule(
                EventType.PAYOUT_FAILED, reference, RETURN_REASONS["R02"], self.day_seconds
            )
        else:
            await self._schedule(EventType.PAYOUT_PAID, reference, None, self.day_seconds)
            await self._book("payout", reference, amount, _bank_party(bank), self.day_seconds)
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
        charged = next(
            (m for m in await self._movements() if m.kind == "charge" and m.reference == reference),
            None,
        )
        if charged is not None:
            amount = Money(charged.amount, charged.currency)
            await self._book("chargeback", reference, amount, charged.counterparty)
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

    # --- the books and the daily settlement files ----------------------------------------

    async def _book(
        self, kind: str, reference: str, amount: Money, counterparty: str, delay: float = 0.0
    ) -> None:
        """Record a movement on the day (by the sandbox clock) it settles."""
        on = datetime.fromtimestamp(await self.now() + delay, UTC).date()
        entry = {
            "kind": kind,
            "reference": reference,
            "on": on.isoformat(),
            "amount": amount.amount_minor,
            "currency": amount.currency.value,
            "counterparty": counterparty,
        }
        await self._redis.rpush(_BOOK, json.dumps(entry))

    async def _movements(self) -> list[Line]:
        return [
            Line(
                m["kind"],
                m["reference"],
                date.fromisoformat(m["on"]),
                int(m["amount"]),
                Currency(m["currency"]),
                m["counterparty"],
            )
            for m in map(json.loads, await self._redis.lrange(_BOOK, 0, -1))
        ]

    async def inject_break(
        self, kind: str, reference: str | None = None, on: date | None = None
    ) -> None:
        """Make the settlement files wrong for one movement (by its reference), or, for
        `unknown`, add an item nobody booked to the processor file of `on`."""
        if kind not in BREAK_KINDS:
            raise ValueError(f"break kinds: {', '.join(BREAK_KINDS)}")
        if kind == "unknown":
            if on is None:
                raise ValueError("an unknown item needs the day of its file")
            await self._redis.hincrby(_BREAKS, f"unknown:{on.isoformat()}", 1)
        else:
            if not reference:
                raise ValueError(f"a {kind} break names the movement's reference")
            await self._redis.hset(_BREAKS, f"ref:{reference}", kind)

    async def settlement_files(self, on: date) -> SettlementFiles:
        """The processor's CSV and the bank's camt.053 for the day `on` (UTC). The same
        day gives the same bytes: nothing in them depends on when they are written."""
        movements = await self._movements()
        breaks = {
            k.decode() if isinstance(k, bytes) else k: v.decode() if isinstance(v, bytes) else v
            for k, v in (await self._redis.hgetall(_BREAKS)).items()
        }

        def reported(kinds: tuple[str, ...]) -> list[Line]:
            lines: list[Line] = []
            for m in movements:
                if m.kind not in kinds:
                    continue
                broken = breaks.get(f"ref:{m.reference}")
                due = m.booked_on + timedelta(days=1) if broken == "late" else m.booked_on
                if due != on or broken == "missing":
                    continue
                line = Line(m.kind, m.reference, on, m.amount, m.currency, m.counterparty)
                if broken == "amount_mismatch":
                    line = Line(m.kind, m.reference, on, m.amount + 100, m.currency, m.counterparty)
                if broken == "no_reference":
                    line = Line(m.kind, "", on, m.amount, m.currency, m.counterparty)
                lines.append(line)
                if broken == "duplicate":
                    lines.append(line)
            return lines

        processor = reported(PROCESSOR_KINDS)
        for n in range(int(breaks.get(f"unknown:{on.isoformat()}", 0))):
            seed = hashlib.sha256(f"{on}:{n}".encode()).hexdigest()
            processor.append(
                Line("charge", "ch_unknown_" + seed[:16], on, 1234, Currency.USD, "Visa ****0000")
            )
        bank = [m for m in reported(BANK_KINDS) if m.kind != "processor_settlement"]
        nets: dict[Currency, int] = {}
        for line in processor:
            nets[line.currency] = nets.get(line.currency, 0) + line.signed
        for currency, net in sorted(nets.items(), key=lambda kv: kv[0].value):
            if net > 0:  # a negative batch is debited by the processor the next day
                bank.append(
                    Line(
                        "processor_settlement",
                        f"{batch_id(on)}-{currency.value}",
                        on,
                        net,
                        currency,
                        "Sandbox Processor",
                    )
                )
        # The bank's balance is its own books: every movement that truly settled.
        balances: dict[Currency, Balances] = {}
        for currency in {m.currency for m in movements} | {Currency.USD}:
            before = sum(m.signed for m in movements if m.currency is currency and m.booked_on < on)
            during = sum(
                m.signed for m in movements if m.currency is currency and m.booked_on == on
            )
            balances[currency] = Balances(before, before + during)
        return SettlementFiles(
            on,
            write_processor_csv(on, processor),
            write_camt053(on, SAFEGUARDING_ACCOUNT, bank, balances),
        )


@dataclass(frozen=True, slots=True)
class SettlementFiles:
    on: date
    processor_csv: bytes
    bank_statement: bytes

    @property
    def processor_name(self) -> str:
        return f"processor-settlement-{self.on.isoformat()}.csv"

    @property
    def bank_name(self) -> str:
        return f"camt053-{self.on.isoformat()}.xml"


def _bank_party(bank: dict[str, Any]) -> str:
    routing = str(bank["routing"])
    return f"{BANK_NAMES.get(routing, f'Bank {routing[:4]}')} ****{str(bank['account'])[-4:]}"
