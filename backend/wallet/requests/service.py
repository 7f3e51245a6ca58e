"""Ask someone for money; they pay it (a P2P transfer), decline it, or it expires.

A request moves open -> paid | declined | cancelled | expired, once. Paying locks the
request row, checks it is still open and not past its expiry, and makes the transfer in
the same database transaction, so a request is paid at most once however many times
(or from however many devices) the payer presses the button.

A request to an email or phone is answered alike whether or not a wallet has it (no
oracle of who is registered): with no wallet, the request waits for the contact
(`payer_contact`), an invite goes out, and whoever later proves that contact is theirs
becomes its payer (`attach_waiting`). The requester sees the contact they typed, not
the payer's username, until the payer answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from wallet.commands import rules
from wallet.commands.actor import Actor
from wallet.commands.runner import Command, run
from wallet.db.engine import Connection, connection, transaction
from wallet.errors import NonPositiveAmount
from wallet.fraud.service import PaymentBlocked, recording_blocks
from wallet.ledger.errors import AccountNotActive, InsufficientFunds
from wallet.limits.service import LimitExceeded
from wallet.money import Currency, Money
from wallet.outbox.service import Topic, emit
from wallet.rates import RatesUnavailable
from wallet.requests.errors import RequestExpiryOutOfRange, RequestNotFound, RequestNotOpen
from wallet.security.stepup import StepUpRequired
from wallet.transfers.errors import (
    InvalidRecipient,
    NoteTooLong,
    RecipientNotFound,
    SelfTransfer,
)
from wallet.transfers.models import MAX_NOTE_LENGTH
from wallet.transfers.service import (
    find_recipient,
    recipient_lookup,
    transfer_between_users,
)
from wallet.wallets.errors import WalletUnavailable

# One invite a day per contact with no wallet, however many people ask it for money.
INVITE_EVERY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class RequestMoney:
    payer: str  # phone, email or username
    amount: Money
    note: str
    # None: the longest a request may last, `max_days`.
    expires_in_days: int | None = None
    # The configured maximum (`MoneyRules.money_request_days`).
    max_days: int = field(default_factory=lambda: rules.current().money_request_days)

    @property
    def expires_in(self) -> timedelta:
        return timedelta(
            days=self.max_days if self.expires_in_days is None else self.expires_in_days
        )


@dataclass(frozen=True, slots=True)
class MoneyRequest:
    id: int
    requester_id: int
    requester_username: str
    payer_id: int | None  # None while it waits for a contact with no wallet yet
    payer_username: str | None
    payer_contact: str | None  # the email or phone the requester asked, if they did
    amount: Money
    note: str
    status: str
    transaction_id: int | None
    expires_at: datetime
    created_at: datetime


_SELECT = """
    SELECT r.id, r.requester_id, req.username AS requester_username, r.payer_id,
           payer.username AS payer_username, r.payer_contact, r.currency, r.amount, r.note,
           r.status, r.transaction_id, r.expires_at, r.created_at
    FROM money_request r
    JOIN app_user req ON req.id = r.requester_id
    LEFT JOIN app_user payer ON payer.id = r.payer_id
"""


def _request(row: Any) -> MoneyRequest:
    return MoneyRequest(
        id=int(row["id"]),
        requester_id=int(row["requester_id"]),
        requester_username=row["requester_username"],
        payer_id=None if row["payer_id"] is None else int(row["payer_id"]),
        payer_username=row["payer_username"],
        payer_contact=row["payer_contact"],
        amount=Money(int(row["amount"]), Currency(row["currency"])),
        note=row["note"],
        status=row["status"],
        transaction_id=row["transaction_id"],
        expires_at=row["expires_at"],
        created_at=row["created_at"],
    )


async def _load(conn: Connection, request_id: int) -> MoneyRequest:
    row = await conn.fetchrow(f"{_SELECT} WHERE r.id = $1", request_id)
    return _request(row)


def _announcement(request: MoneyRequest) -> dict[str, Any]:
    return {
        "request_id": request.id,
        "status": request.status,
        "requester_id": request.requester_id,
        "payer_id": request.payer_id,
    }


async def _announce(conn: Connection, request: MoneyRequest) -> None:
    await emit(conn, Topic.MONEY_REQUEST_UPDATED, _announcement(request))


def _validate_request(actor: Actor, command: RequestMoney) -> None:
    if not command.amount.is_positive:
        raise NonPositiveAmount()
    if len(command.note) > MAX_NOTE_LENGTH:
        raise NoteTooLong(MAX_NOTE_LENGTH)
    days = command.expires_in_days
    if days is not None and not 1 <= days <= command.max_days:
        raise RequestExpiryOutOfRange(command.max_days)
    recipient_lookup(command.payer)


def _request_fingerprint(command: RequestMoney) -> dict[str, Any]:
    column, value = recipient_lookup(command.payer)
    return {
        "payer": [column, value],
        "note": command.note,
        "amount": command.amount.amount_minor,
        "currency": command.amount.currency.value,
    }


async def _open(conn: Connection, actor: Actor, command: RequestMoney) -> MoneyRequest:
    requester_id = actor.require_user()
    column, value = recipient_lookup(command.payer)
    contact = None if column == "username" else value
    try:
        payer_id: int | None = (await find_recipient(conn, column, value))[0]
    except RecipientNotFound:
        if contact is None:  # a username names someone registered, or no one
            raise
        payer_id = None
    created = await open_request(
        conn,
        requester_id=requester_id,
        payer_id=payer_id,
        payer_contact=contact,
        amount=command.amount,
        note=command.note,
        expires_in=command.expires_in,
    )
    if payer_id is None and contact is not None:
        await _invite(conn, created, column, contact, command.expires_in)
    return created


async def _replay_request(
    conn: Connection, actor: Actor, command: RequestMoney, stored: dict[str, Any]
) -> MoneyRequest:
    return await _load(conn, int(stored["request_id"]))


REQUEST_MONEY = Command[RequestMoney, MoneyRequest](
    name="requestMoney",
    validate=_validate_request,
    fingerprint=_request_fingerprint,
    change=_open,
    response=lambda created: {"request_id": created.id},
    replay=_replay_request,
    refusals=(
        NonPositiveAmount,
        NoteTooLong,
        InvalidRecipient,
        RecipientNotFound,
        SelfTransfer,
        RequestExpiryOutOfRange,
    ),
)


async def request_money(actor: Actor, command: RequestMoney, idempotency_key: str) -> MoneyRequest:
    """Ask `command.payer` (an @username, or an email or phone, registered or not)."""
    return await run(REQUEST_MONEY, actor, command, idempotency_key)


async def _invite(
    conn: Connection, request: MoneyRequest, kind: str, contact: str, expires_in: timedelta
) -> None:
    """Tell a contact with no wallet that someone asks them for money (email or SMS,
    through the outbox), at most once per `INVITE_EVERY` per contact."""
    recent = await conn.fetchval(
        "SELECT 1 FROM money_request WHERE payer_contact = $1 AND payer_id IS NULL "
        "AND id <> $2 AND created_at > now() - $3::interval LIMIT 1",
        contact,
        request.id,
        INVITE_EVERY,
    )
    if recent:
        return
    await emit(
        conn,
        Topic.CONTACT_INVITED,
        {
            "reason": "money_request",
            "request_id": request.id,
            "kind": kind,
            "contact": contact,
            "sender": request.requester_username,
            "amount": request.amount.format(),
            "currency": request.amount.currency.value,
            "days": max(expires_in.days, 1),
        },
    )


async def attach_waiting(conn: Connection, user_id: int, contact: str) -> list[int]:
    """The user just proved `contact` is theirs: open requests waiting for it are now
    addressed to them (and they are told), in the caller's transaction; ones they made
    themselves to that contact are cancelled. Returns the ids attached."""
    rows = await conn.fetch(
        "SELECT id, requester_id FROM money_request WHERE payer_contact = $1 "
        "AND payer_id IS NULL AND status = 'open' ORDER BY id FOR UPDATE",
        contact,
    )
    own = [int(r["id"]) for r in rows if int(r["requester_id"]) == user_id]
    theirs = [int(r["id"]) for r in rows if int(r["requester_id"]) != user_id]
    if own:
        await conn.execute(
            "UPDATE money_request SET status = 'cancelled', resolved_at = now() "
            "WHERE id = ANY($1::bigint[])",
            own,
        )
    if theirs:
        await conn.execute(
            "UPDATE money_request SET payer_id = $2 WHERE id = ANY($1::bigint[])",
            theirs,
            user_id,
        )
    for request_id in own + theirs:
        await _announce(conn, await _load(conn, request_id))
    return theirs


async def open_request(
    conn: Connection,
    *,
    requester_id: int,
    payer_id: int | None,
    amount: Money,
    note: str,
    expires_in: timedelta,
    payer_contact: str | None = None,
) -> MoneyRequest:
    """Ask `payer_id` (or, with None, whoever proves `payer_contact` is theirs) for
    `amount`, in the caller's transaction; a registered payer is notified."""
    if payer_id == requester_id:
        raise SelfTransfer()
    request_id = await conn.fetchval(
        "INSERT INTO money_request (requester_id, payer_id, payer_contact, currency, amount, "
        "note, expires_at) VALUES ($1, $2, $3, $4, $5, $6, now() + $7) RETURNING id",
        requester_id,
        payer_id,
        payer_contact,
        amount.currency.value,
        amount.amount_minor,
        note,
        expires_in,
    )
    created = await _load(conn, int(request_id))
    await _announce(conn, created)
    return created


async def cancel_open_requests(conn: Connection, request_ids: list[int]) -> list[int]:
    """Cancel those of the requests still open, in the caller's transaction (their rows
    are locked first, so a concurrent payment either finishes before or finds them
    cancelled); return the ids cancelled."""
    rows = await conn.fetch(
        "SELECT id FROM money_request WHERE id = ANY($1::bigint[]) AND status = 'open' "
        "ORDER BY id FOR UPDATE",
        request_ids,
    )
    cancelled = [int(r["id"]) for r in rows]
    if cancelled:
        await conn.execute(
            "UPDATE money_request SET status = 'cancelled', resolved_at = now() "
            "WHERE id = ANY($1::bigint[]) AND status = 'open'",
            cancelled,
        )
        for request_id in cancelled:
            await _announce(conn, await _load(conn, request_id))
    return cancelled


async def _lock_open(conn: Connection, request_id: int, user_id: int, role: str) -> Any:
    """Lock the request if `user_id` is its `role` (payer/requester) and it is open."""
    column = {"payer": "payer_id", "requester": "requester_id"}[role]
    sql = (
        "SELECT id, requester_id, payer_id, currency, amount, note, status, expires_at "  # noqa: S608
        f"FROM money_request WHERE id = $1 AND {column} = $2 FOR UPDATE"
    )
    row = await conn.fetchrow(sql, request_id, user_id)
    if row is None:
        raise RequestNotFound(request_id)
    if row["status"] == "open" and row["expires_at"] <= datetime.now(UTC):
        raise RequestNotOpen(request_id, "expired")
    if row["status"] != "open":
        raise RequestNotOpen(request_id, row["status"])
    return row


@dataclass(frozen=True, slots=True)
class PayRequest:
    request_id: int


async def _may_pay(conn: Connection, actor: Actor, command: PayRequest) -> None:
    """The request is open and addressed to the actor, and above the step-up threshold
    (or from a new device) the actor proved a factor lately: before anything moves."""
    row = await _lock_open(conn, command.request_id, actor.require_user(), "payer")
    amount = Money(int(row["amount"]), Currency(row["currency"]))
    await actor.require_step_up(amount, "pay this request")


async def _pay(conn: Connection, actor: Actor, command: PayRequest) -> MoneyRequest:
    payer_id = actor.require_user()
    row = await _lock_open(conn, command.request_id, payer_id, "payer")
    amount = Money(int(row["amount"]), Currency(row["currency"]))
    transaction_id, _ = await transfer_between_users(
        conn,
        sender_id=payer_id,
        recipient_id=int(row["requester_id"]),
        amount=amount,
        note=row["note"],
        screening=actor.screening(),
    )
    await conn.execute(
        "UPDATE money_request SET status = 'paid', transaction_id = $2, resolved_at = now() "
        "WHERE id = $1",
        command.request_id,
        transaction_id,
    )
    return await _load(conn, command.request_id)


async def _replay_payment(
    conn: Connection, actor: Actor, command: PayRequest, stored: dict[str, Any]
) -> MoneyRequest:
    return await _load(conn, command.request_id)


PAY_REQUEST = Command[PayRequest, MoneyRequest](
    name="payMoneyRequest",
    fingerprint=lambda command: {"request": command.request_id},
    policy=(_may_pay,),
    change=_pay,
    response=lambda _: {"paid": True},
    replay=_replay_payment,
    events=lambda paid: [(Topic.MONEY_REQUEST_UPDATED, _announcement(paid))],
    around=recording_blocks,
    refusals=(
        RequestNotFound,
        RequestNotOpen,
        StepUpRequired,
        InsufficientFunds,
        AccountNotActive,
        LimitExceeded,
        PaymentBlocked,
        WalletUnavailable,
        SelfTransfer,
        RatesUnavailable,
    ),
)


async def pay_request(actor: Actor, request_id: int, idempotency_key: str) -> MoneyRequest:
    """Pay a request addressed to the actor: a transfer to the requester, once per key.

    Above the step-up threshold (or from a new device) the payer needs a second factor
    proven lately, checked before anything moves; the fraud rules score the payment
    with the actor's risk context.
    """
    return await run(PAY_REQUEST, actor, PayRequest(request_id), idempotency_key)


async def _close(request_id: int, user_id: int, role: str, status: str) -> MoneyRequest:
    async with transaction() as conn:
        await _lock_open(conn, request_id, user_id, role)
        await conn.execute(
            "UPDATE money_request SET status = $2, resolved_at = now() WHERE id = $1",
            request_id,
            status,
        )
        closed = await _load(conn, request_id)
        await _announce(conn, closed)
        return closed


async def decline_request(payer_id: int, request_id: int) -> MoneyRequest:
    return await _close(request_id, payer_id, "payer", "declined")


async def cancel_request(requester_id: int, request_id: int) -> MoneyRequest:
    return await _close(request_id, requester_id, "requester", "cancelled")


async def requests_of(user_id: int, status: str | None = None) -> list[MoneyRequest]:
    """Requests the user made or received, newest first (open ones past expiry read expired)."""
    async with connection() as conn:
        rows = await conn.fetch(
            f"{_SELECT} WHERE $1 IN (r.requester_id, r.payer_id) "
            "AND ($2::text IS NULL OR r.status = $2) ORDER BY r.id DESC LIMIT 100",
            user_id,
            status,
        )
    return [_request(r) for r in rows]


async def get_request(user_id: int, request_id: int) -> MoneyRequest | None:
    async with connection() as conn:
        row = await conn.fetchrow(
            f"{_SELECT} WHERE r.id = $2 AND $1 IN (r.requester_id, r.payer_id)",
            user_id,
            request_id,
        )
    return _request(row) if row else None


async def expire_due_requests(now: datetime) -> list[int]:
    """Worker job: open requests past their expiry become expired."""
    async with transaction() as conn:
        rows = await conn.fetch(
            "UPDATE money_request SET status = 'expired', resolved_at = now() "
            "WHERE id IN (SELECT id FROM money_request WHERE status = 'open' AND expires_at <= $1 "
            "ORDER BY id FOR UPDATE SKIP LOCKED) RETURNING id",
            now,
        )
        for row in rows:
            await _announce(conn, await _load(conn, int(row["id"])))
    return [int(r["id"]) for r in rows]
