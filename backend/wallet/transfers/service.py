"""Send money from one wallet to another registered user's wallet.

One database transaction: idempotency claim, sender wallet lock, status and limit
checks, the business transaction with its transitions, the balanced journal entry,
outbox events for both parties, and the idempotency record.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import phonenumbers

from wallet.db.engine import Connection, retrying
from wallet.fraud import engine as fraud
from wallet.fraud import service as fraud_reviews
from wallet.fraud.engine import Attempt, Decision
from wallet.fraud.service import PaymentBlocked, Screening
from wallet.fx import service as fx
from wallet.fx.errors import QuoteMismatch
from wallet.idempotency import service as idempotency
from wallet.ledger import service as ledger
from wallet.ledger.models import EntryDraft
from wallet.limits import service as limits
from wallet.limits.service import LimitScope, check_cross_border
from wallet.money import Money
from wallet.outbox.service import Topic, emit_many
from wallet.rates import RatesUnavailable
from wallet.security.stepup import StepUpRequired
from wallet.transactions import service as transactions
from wallet.transactions.models import TransactionStatus, TransactionType
from wallet.transfers import batch, bulk
from wallet.transfers.errors import (
    InvalidRecipient,
    NonPositiveAmount,
    NoteTooLong,
    RecipientNotFound,
    SelfTransfer,
    WalletUnavailable,
)
from wallet.transfers.models import (
    MAX_NOTE_LENGTH,
    PreparedSend,
    SendMoney,
    TransferReceipt,
    can_receive,
    utcnow,
)
from wallet.transfers.unclaimed import send_to_unregistered
from wallet.users.validation import USERNAME_RE, normalise_email, normalise_phone
from wallet.wallets.service import open_balance, spendable_account


def recipient_lookup(recipient: str) -> tuple[str, str]:
    """(column, normalised value) to find the recipient by email, phone or username."""
    text = recipient.strip()
    if "@" in text[1:]:
        try:
            return "email", normalise_email(text)
        except ValueError:
            raise InvalidRecipient(recipient) from None
    if text[:1] in "+(" or text[:1].isdigit():
        try:
            return "phone", normalise_phone(text)
        except (phonenumbers.NumberParseException, ValueError):
            raise InvalidRecipient(recipient) from None
    username = text.removeprefix("@").lower()
    if not USERNAME_RE.match(username):
        raise InvalidRecipient(recipient)
    return "username", username


async def find_recipient(conn: Connection, column: str, value: str) -> tuple[int, str, str]:
    where = {
        "email": "lower(u.email) = $1",
        "phone": "u.phone = $1",
        "username": "lower(u.username) = $1",
    }[column]
    # `where` is one of the three constants above, never user input.
    sql = (
        "SELECT u.id, u.username, w.status FROM app_user u "  # noqa: S608
        f"JOIN wallet w ON w.user_id = u.id WHERE {where} AND u.status = 'active'"
    )
    row = await conn.fetchrow(sql, value)
    if row is None:
        raise RecipientNotFound(value)
    return int(row["id"]), row["username"], row["status"]


async def transfer_between_users(
    conn: Connection,
    *,
    sender_id: int,
    recipient_id: int,
    amount: Money,
    note: str,
    screening: Screening | None = None,
) -> tuple[int, datetime]:
    """Move `amount` now from one user's wallet to another's, in the caller's transaction.

    Locks the sender's wallet (their outgoing movements are serialised, so the daily
    limit holds), checks its status and the limits, scores it with the fraud rules when
    `screening` is given (the caller wraps its transaction in `recording_blocks`), then
    records the transaction, posts the entry and completes it. The recipient's status is
    the caller's to check.
    """
    source, target = await _accounts(conn, sender_id, recipient_id, amount)
    if screening is not None:
        attempt = Attempt(sender_id, recipient_id, amount, screening.context, utcnow())
        await fraud_reviews.screen(conn, attempt, screening)
    return await _post_transfer(conn, sender_id, recipient_id, source, target, amount, note)


async def _accounts(
    conn: Connection, sender_id: int, recipient_id: int, amount: Money
) -> tuple[int, int]:
    """Lock the sender for spending `amount` (status, limits); both wallet accounts."""
    source, target = await spendable_account(
        conn, sender_id, amount, scope=LimitScope.SEND, recipient_id=recipient_id
    )
    if target is None:
        target = await open_balance(conn, recipient_id, amount.currency)
    return source, target


async def _post_transfer(
    conn: Connection,
    sender_id: int,
    recipient_id: int,
    source: int,
    target: int,
    amount: Money,
    note: str,
) -> tuple[int, datetime]:
    entry_id = await ledger.post_entry(
        conn, EntryDraft.transfer("p2p", source, target, amount, f"p2p {sender_id}->{recipient_id}")
    )
    await limits.check_received(conn, recipient_id, amount)
    transaction_id, created_at = await transactions.record_completed(
        conn,
        transactions.NewTransaction(
            type=TransactionType.SEND,
            amount=amount,
            initiator_user_id=sender_id,
            counterparty_user_id=recipient_id,
            note=note,
        ),
        entry_id,
    )
    await emit_many(
        conn,
        Topic.BALANCE_CHANGED,
        [
            {
                "user_id": user_id,
                "currency": amount.currency.value,
                "entry_id": entry_id,
                "transaction_id": transaction_id,
            }
            for user_id in (sender_id, recipient_id)
        ],
    )
    return transaction_id, created_at


def prepare(command: SendMoney) -> PreparedSend:
    """Check what needs no database (amount, note, recipient, key); raise its refusal."""
    if not command.amount.is_positive:
        raise NonPositiveAmount()
    if len(command.note) > MAX_NOTE_LENGTH:
        raise NoteTooLong(MAX_NOTE_LENGTH)
    column, value = recipient_lookup(command.recipient)
    idempotency.validate_key(command.idempotency_key)
    request_fingerprint = idempotency.fingerprint(
        {
            "op": "sendMoney",
            "recipient": [column, value],
            "note": command.note,
            "amount": command.amount.amount_minor,
            "currency": command.amount.currency.value,
            "quote": command.quote_id,
        }
    )
    return PreparedSend(command, column, value, f"user:{command.sender_id}", request_fingerprint)


async def send_money(command: SendMoney) -> TransferReceipt:
    """Move money now from the sender's wallet to the recipient's; exactly once per key.

    A large send needs a second factor proven lately: judged first, outside any
    transaction, and raised after the limits and the fraud rules, before the money
    moves (a replay is not judged again: the key is claimed first). Concurrent
    same-currency sends of this process share one database transaction and are decided
    set-based (wallet.transfers.batch and .bulk); a lone
    send, a cross-currency one, or one made inside the caller's transaction runs on its
    own (`send_in`). Either way the same policy functions decide it.
    """
    prepared = prepare(command)
    if command.large_amount is not None:
        try:
            await command.large_amount.require(command.sender_id, command.amount, "send this much")
        except StepUpRequired as needed:
            prepared = replace(prepared, step_up=needed)
    try:
        if command.quote_id is None and batch.enabled():
            receipt: TransferReceipt = await batch.submit(prepared, send_alone, send_batch)
            return receipt
        return await send_alone(prepared)
    except PaymentBlocked as blocked:
        # Outside the send's transaction, which rolled back (or its savepoint did).
        await fraud_reviews.record_block(blocked)
        raise


async def send_batch(conn: Connection, prepared: list[PreparedSend]) -> list[bulk.Outcome]:
    """A batch of sends in the caller's transaction (bulk), each it cannot decide by
    the single-send code."""
    return await bulk.send_many(conn, prepared, send_in)


async def send_alone(prepared: PreparedSend) -> TransferReceipt:
    """One send in its own database transaction (or the caller's, when inside one), run
    again whole if PostgreSQL chose it to break a deadlock."""
    return await retrying(lambda conn: send_in(conn, prepared))


async def send_in(conn: Connection, prepared: PreparedSend) -> TransferReceipt:
    """The whole send inside the caller's transaction: claim the key (or replay it), find
    the recipient, check and move the money, remember the receipt. Raises a refusal
    (the caller rolls back) or returns the receipt."""
    command = prepared.command
    column, value = prepared.column, prepared.value
    principal, request_fingerprint = prepared.principal, prepared.fingerprint
    replay = await idempotency.claim(conn, principal, command.idempotency_key, request_fingerprint)
    if replay is not None:
        return TransferReceipt.from_json(replay)
    try:
        recipient_id, recipient_username, recipient_status = await find_recipient(
            conn, column, value
        )
    except RecipientNotFound:
        if column == "username" or command.quote_id is not None:
            # Money in another currency needs a wallet to arrive in.
            raise
        receipt = await _escrow_for_contact(conn, command, column, value)
        if prepared.step_up is not None:
            raise prepared.step_up from None  # the escrow above rolls back with it
    else:
        if recipient_id == command.sender_id:
            raise SelfTransfer() from None
        if not can_receive(recipient_status):
            raise WalletUnavailable("recipient's", recipient_status) from None
        received = command.amount
        status = TransactionStatus.COMPLETED
        if command.quote_id is None:
            transaction_id, created_at, status = await _send_to_user(
                conn, command, recipient_id, prepared.step_up
            )
        else:
            transaction_id, created_at, received = await _transfer_across_currencies(
                conn, command, recipient_id, prepared.step_up
            )
        cross = received.currency is not command.amount.currency
        receipt = TransferReceipt(
            transaction_id=transaction_id,
            status=status.value,
            amount_minor=command.amount.amount_minor,
            currency=command.amount.currency.value,
            recipient_user_id=recipient_id,
            recipient_username=recipient_username,
            note=command.note,
            created_at=created_at.isoformat(),
            received_minor=received.amount_minor if cross else None,
            received_currency=received.currency.value if cross else None,
        )
    await idempotency.remember(
        conn, principal, command.idempotency_key, request_fingerprint, receipt.to_json()
    )
    return receipt


async def _send_to_user(
    conn: Connection, command: SendMoney, recipient_id: int, step_up: Exception | None
) -> tuple[int, datetime, TransactionStatus]:
    """A same-currency send to a wallet, scored by the fraud rules before it is posted:
    allowed, it completes now; held, it waits (PENDING) for review; blocked, it is refused."""
    source, target = await _accounts(conn, command.sender_id, recipient_id, command.amount)
    risk = command.risk or Screening()
    attempt = Attempt(command.sender_id, recipient_id, command.amount, risk.context, utcnow())
    assessment = await fraud.assess(conn, attempt, risk.rates or await limits.rates())
    if assessment.decision is Decision.BLOCK:
        raise PaymentBlocked(attempt, assessment)
    if step_up is not None:
        raise step_up
    if assessment.decision is Decision.HOLD:
        transaction_id, created_at = await fraud_reviews.hold_send(
            conn, attempt, assessment, source=source, target=target, note=command.note
        )
        return transaction_id, created_at, TransactionStatus.PENDING
    transaction_id, created_at = await _post_transfer(
        conn, command.sender_id, recipient_id, source, target, command.amount, command.note
    )
    return transaction_id, created_at, TransactionStatus.COMPLETED


async def _transfer_across_currencies(
    conn: Connection, command: SendMoney, recipient_id: int, step_up: Exception | None
) -> tuple[int, datetime, Money]:
    """Send the quote's sell side from the sender; the recipient gets its buy side.

    One entry: the sender's wallet pays the sell leg, the recipient's wallet takes the
    buy leg (fx.conversion_entry). The quote is locked before the wallet, as in convert.
    """
    assert command.quote_id is not None
    quote = await fx.claim_quote(conn, command.sender_id, command.quote_id)
    if quote.sold != command.amount:
        raise QuoteMismatch(
            f"The quote sells {quote.sold.display()}, not {command.amount.display()}"
        )
    source, _ = await spendable_account(
        conn, command.sender_id, command.amount, scope=LimitScope.SEND
    )
    level = await conn.fetchval(
        "SELECT verification_level FROM app_user WHERE id = $1", command.sender_id
    )
    if command.rates is None:
        raise RatesUnavailable("no rates to value a cross-border transfer")
    check_cross_border(
        level, command.rates.usd_value(command.amount), command.cross_border_threshold
    )
    screening = command.risk or Screening()
    await fraud_reviews.screen(
        conn,
        Attempt(command.sender_id, recipient_id, command.amount, screening.context, utcnow()),
        screening,
    )
    if step_up is not None:
        raise step_up
    target = await open_balance(conn, recipient_id, quote.buy)
    entry_id = await ledger.post_entry(
        conn, await fx.conversion_entry(conn, quote, source, target, "p2p_fx")
    )
    await limits.check_received(conn, recipient_id, quote.bought)
    transaction_id, created_at = await transactions.record_completed(
        conn,
        transactions.NewTransaction(
            type=TransactionType.SEND,
            amount=command.amount,
            initiator_user_id=command.sender_id,
            counterparty_user_id=recipient_id,
            note=command.note,
            counter_amount=quote.bought,
        ),
        entry_id,
    )
    await fx.mark_used(conn, quote.id, transaction_id)
    await emit_many(
        conn,
        Topic.BALANCE_CHANGED,
        [
            {
                "user_id": user_id,
                "currency": currency.value,
                "entry_id": entry_id,
                "transaction_id": transaction_id,
            }
            for user_id, currency in (
                (command.sender_id, quote.sell),
                (recipient_id, quote.buy),
            )
        ],
    )
    return transaction_id, created_at, quote.bought


async def _escrow_for_contact(
    conn: Connection, command: SendMoney, column: str, contact: str
) -> TransferReceipt:
    """The recipient has no wallet yet: hold the money in escrow and invite them."""
    own = await conn.fetchval(
        f"SELECT {column} FROM app_user WHERE id = $1",  # noqa: S608 (column is a constant)
        command.sender_id,
    )
    if own is not None and own.lower() == contact.lower():
        raise SelfTransfer()
    transaction_id, created_at = await send_to_unregistered(
        conn,
        sender_id=command.sender_id,
        contact_kind=column,
        contact=contact,
        amount=command.amount,
        note=command.note,
        claim_days=command.claim_days,
    )
    # Scored once the wallet is locked and the limits passed, like a send to a wallet;
    # escrowed money cannot wait days for a review, so a hold is a challenge here.
    screening = command.risk or Screening()
    attempt = Attempt(
        command.sender_id,
        None,
        command.amount,
        screening.context,
        utcnow(),
        recipient_contact=contact,
    )
    await fraud_reviews.screen(conn, attempt, screening)
    return TransferReceipt(
        transaction_id=transaction_id,
        status=TransactionStatus.PENDING.value,
        amount_minor=command.amount.amount_minor,
        currency=command.amount.currency.value,
        recipient_user_id=None,
        recipient_username=None,
        note=command.note,
        created_at=created_at.isoformat(),
        recipient_contact=contact,
    )
