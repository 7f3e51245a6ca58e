"""A batch of sends applied set-based: one lock-and-read pass, the rules in memory, one
write pass (docs/ledger.md, "The batched write path").

1. **Lock and read**, a fixed number of statements whatever the batch's size: the
   idempotency keys (advisory locks, by hash) and those already taken; the recipients;
   the senders' wallets (locked, by user id) with their verification levels; every
   wallet account the batch touches (locked, by id: the order `ledger_post_entry`
   locks in, so batches and single sends cannot deadlock); what each sender has
   already sent today and this month; what each capped recipient is worth; and,
   when fraud rules are on, what the rules look at for every send.
2. **Decide** each send in queue order with the same policy functions a send on its
   own calls (`limits.check_per_transaction` / `check_period` /
   `check_received_worth`, `fraud.score`), on that locked snapshot, keeping running
   balances, limit usage and fraud features in memory: a later send sees the earlier
   ones. A refusal is that send's outcome alone.
3. **Write** the accepted sends: their entries (one call, `ledger.post_transfers`),
   transactions, events and idempotency records, a statement each.

A send this path does not decide (to a phone or email with no wallet, a fraud hold, a
recipient without a balance in the currency, an account that is hot, frozen or closed
on the sender's side) runs through the single-send code (`service.send_in`) in a
savepoint, in its place in the queue, once the accepted sends before it are written;
the sends after it are then read afresh.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from wallet.db.engine import Connection
from wallet.fraud import engine as fraud
from wallet.fraud.engine import Assessment, Attempt, Decision, Features, Rule
from wallet.fraud.service import PaymentBlocked, Screening
from wallet.idempotency import service as idempotency
from wallet.ledger import service as ledger
from wallet.ledger.errors import InsufficientFunds
from wallet.ledger.models import OwnerType, Purpose
from wallet.limits import service as limits
from wallet.limits.service import LimitScope, Spent
from wallet.money import Money
from wallet.outbox.service import Topic, emit_many
from wallet.rates import RateSnapshot
from wallet.transactions import service as transactions
from wallet.transactions.models import TransactionStatus, TransactionType
from wallet.transfers.errors import RecipientNotFound, SelfTransfer, WalletUnavailable
from wallet.transfers.models import PreparedSend, TransferReceipt, can_receive, utcnow
from wallet.wallets.service import SpendingWallet, lock_many_for_spending

# The single-send code, run inside the batch's transaction (handed in by the service).
Within = Callable[[Connection, PreparedSend], Awaitable[TransferReceipt]]
Outcome = TransferReceipt | Exception


class _Slow(Exception):
    """This send needs the single-send code (see the module's docstring)."""


@dataclass(frozen=True, slots=True)
class _Recipient:
    id: int
    username: str
    wallet_status: str
    verification_level: str


@dataclass(slots=True)
class _Snapshot:
    """What the batch read under its locks, and what its accepted sends changed since."""

    taken: dict[tuple[str, str], idempotency.Stored]
    recipients: dict[tuple[str, str], _Recipient]
    wallets: dict[int, SpendingWallet]
    accounts: dict[str, ledger.AccountState]
    spent: dict[int, Spent]
    worth: dict[int, dict[int, Money]]
    rules: list[Rule]
    features: dict[int, Features]  # by the send's place in the run
    rates: RateSnapshot
    # Running changes: available per account id, earlier sends per sender.
    moved: dict[int, int] = field(default_factory=dict)
    earlier: dict[int, list[Attempt]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Accepted:
    index: int
    prepared: PreparedSend
    recipient: _Recipient
    source: int
    target: int
    attempt: Attempt


async def send_many(
    conn: Connection, batch: Sequence[PreparedSend], within: Within
) -> list[Outcome]:
    """Each send's outcome (its receipt, or the refusal that is its alone), as if they
    had run one by one in this order; all in the caller's transaction."""
    outcomes: list[Outcome | None] = [None] * len(batch)
    start = 0
    while start < len(batch):
        start = await _run(conn, batch, start, outcomes, within)
    return [o if o is not None else RuntimeError("no outcome") for o in outcomes]


async def _run(
    conn: Connection,
    batch: Sequence[PreparedSend],
    start: int,
    outcomes: list[Outcome | None],
    within: Within,
) -> int:
    """Decide and write `batch[start:]` up to the first send it cannot decide, which it
    then runs through `within`; the index to go on from."""
    items = list(enumerate(batch))[start:]
    state = await _read(conn, items)
    accepted: list[_Accepted] = []
    replays: dict[int, int] = {}  # a repeated key in the batch -> the index it repeats
    for index, prepared in items:
        try:
            decision = _decide(index, prepared, state, accepted, replays)
        except _Slow:
            await _write(conn, accepted, replays, outcomes, state)
            try:
                async with conn.transaction():  # a savepoint: a refusal takes back itself
                    outcomes[index] = await within(conn, prepared)
            except Exception as refusal:
                outcomes[index] = refusal
            return index + 1
        except Exception as refusal:
            outcomes[index] = refusal
        else:
            if isinstance(decision, TransferReceipt):
                outcomes[index] = decision
            elif decision is not None:
                accepted.append(decision)
    await _write(conn, accepted, replays, outcomes, state)
    return len(batch)


def _key(prepared: PreparedSend) -> tuple[str, str]:
    return prepared.principal, prepared.command.idempotency_key


def _code(owner: int, prepared: PreparedSend) -> str:
    currency = prepared.command.amount.currency
    return ledger.account_code(OwnerType.USER, owner, currency, Purpose.WALLET)


async def _read(conn: Connection, items: list[tuple[int, PreparedSend]]) -> _Snapshot:
    """The lock-and-read pass (the module's docstring, step 1)."""
    taken = await idempotency.claim_many(conn, [_key(p) for _, p in items])
    recipients = await _find_recipients(conn, [(p.column, p.value) for _, p in items])
    senders = sorted({p.command.sender_id for _, p in items})
    wallets = await lock_many_for_spending(conn, senders)
    owners = {*senders, *(r.id for r in recipients.values())}
    currencies = {p.command.amount.currency for _, p in items}
    codes = {
        ledger.account_code(OwnerType.USER, owner, currency, Purpose.WALLET)
        for currency in currencies
        for owner in owners
    }
    accounts = await ledger.lock_accounts_by_code(conn, sorted(codes))
    spent = await limits.spent(conn, senders)
    capped = [r.id for r in recipients.values() if limits.has_balance_cap(r.verification_level)]
    worth = await ledger.owners_worth(conn, OwnerType.USER, capped) if capped else {}
    rules = await fraud.enabled_rules(conn)
    rates = await limits.rates()
    features: dict[int, Features] = {}
    if rules:
        scored = [
            (index, _attempt(p, found.id))
            for index, p in items
            if (found := recipients.get((p.column, p.value))) is not None
        ]
        if scored:
            read = await fraud.features_of(conn, [a for _, a in scored], rules)
            features = {index: f for (index, _), f in zip(scored, read, strict=True)}
    return _Snapshot(taken, recipients, wallets, accounts, spent, worth, rules, features, rates)


async def _find_recipients(
    conn: Connection, lookups: list[tuple[str, str]]
) -> dict[tuple[str, str], _Recipient]:
    """The active users the lookups name (as `service.find_recipient` finds one)."""
    wanted: dict[str, list[str]] = {"username": [], "email": [], "phone": []}
    for column, value in lookups:
        wanted[column].append(value)
    rows = await conn.fetch(
        "SELECT u.id, u.username, lower(u.username) AS by_username, lower(u.email) AS by_email, "
        "u.phone AS by_phone, u.verification_level, w.status FROM app_user u "
        "JOIN wallet w ON w.user_id = u.id WHERE u.status = 'active' AND ("
        "lower(u.username) = ANY($1::text[]) OR lower(u.email) = ANY($2::text[]) "
        "OR u.phone = ANY($3::text[]))",
        wanted["username"],
        wanted["email"],
        wanted["phone"],
    )
    found: dict[tuple[str, str], _Recipient] = {}
    for r in rows:
        recipient = _Recipient(int(r["id"]), r["username"], r["status"], r["verification_level"])
        for column in wanted:
            value = r[f"by_{column}"]
            if value is not None and value in wanted[column]:
                found[(column, value)] = recipient
    return found


def _attempt(prepared: PreparedSend, recipient_id: int) -> Attempt:
    command = prepared.command
    risk = command.risk or Screening()
    return Attempt(command.sender_id, recipient_id, command.amount, risk.context, utcnow())


def _decide(
    index: int,
    prepared: PreparedSend,
    state: _Snapshot,
    accepted: list[_Accepted],
    replays: dict[int, int],
) -> _Accepted | TransferReceipt | None:
    """One send, in the order `service.send_in` checks it: its key, its recipient, the
    sender's wallet and limits, the fraud rules, the money, the recipient's cap.
    Returns the accepted send, a replayed receipt, or None for a repeat of a send
    accepted earlier in this batch (it gets that one's receipt); raises its refusal."""
    command = prepared.command
    key = _key(prepared)
    stored = state.taken.get(key)
    if stored is not None:
        return TransferReceipt.from_json(stored.replay(key[1], prepared.fingerprint))
    for earlier in accepted:
        if _key(earlier.prepared) == key:
            if earlier.prepared.fingerprint != prepared.fingerprint:
                raise idempotency.IdempotencyConflict(key[1])
            replays[index] = earlier.index
            return None
    recipient = state.recipients.get((prepared.column, prepared.value))
    if recipient is None:
        if prepared.column == "username":
            raise RecipientNotFound(prepared.value)
        raise _Slow()  # money held for a phone or email with no wallet yet
    if recipient.id == command.sender_id:
        raise SelfTransfer()
    if not can_receive(recipient.wallet_status):
        raise WalletUnavailable("recipient's", recipient.wallet_status)
    wallet = state.wallets.get(command.sender_id)
    if wallet is None or wallet.status != "active":
        raise WalletUnavailable("sender's", wallet.status if wallet else "missing")
    level, amount = wallet.verification_level, command.amount
    limits.check_per_transaction(level, amount, LimitScope.SEND, state.rates)
    spent = state.spent.get(command.sender_id, Spent())
    limits.check_period(level, amount, LimitScope.SEND, spent.valued(state.rates), state.rates)
    source = state.accounts.get(_code(command.sender_id, prepared))
    if source is None or source.status == "closed":
        raise InsufficientFunds(0, 0, amount.amount_minor)
    target = state.accounts.get(_code(recipient.id, prepared))
    if source.status != "active" or source.hot or target is None or target.status != "active":
        raise _Slow()
    attempt = _attempt(prepared, recipient.id)
    assessment = _score(index, prepared, state, attempt)
    if assessment is not None and assessment.decision is Decision.BLOCK:
        raise PaymentBlocked(attempt, assessment)
    if prepared.step_up is not None:
        raise prepared.step_up
    if assessment is not None and assessment.decision is Decision.HOLD:
        raise _Slow()  # held for review: the single-send code reserves it
    available = source.available + state.moved.get(source.id, 0)
    if source.no_overdraft and available < amount.amount_minor:
        raise InsufficientFunds(source.id, available, amount.amount_minor)
    if recipient.id in state.worth:
        _check_cap(state, recipient, target, amount)
    # Accepted: what it changes, for the sends after it.
    state.moved[source.id] = state.moved.get(source.id, 0) - amount.amount_minor
    if not target.hot:  # a hot account's credit is deferred: its totals do not move yet
        state.moved[target.id] = state.moved.get(target.id, 0) + amount.amount_minor
    state.spent[command.sender_id] = spent.plus(LimitScope.SEND, amount)
    state.earlier.setdefault(command.sender_id, []).append(attempt)
    _move_worth(state, command.sender_id, source.id, -amount.amount_minor)
    _move_worth(state, recipient.id, target.id, amount.amount_minor)
    return _Accepted(index, prepared, recipient, source.id, target.id, attempt)


def _score(
    index: int, prepared: PreparedSend, state: _Snapshot, attempt: Attempt
) -> Assessment | None:
    """The fraud rules' verdict on this send, its features carried past the sender's
    earlier sends in the batch (None: no rule is on)."""
    if not state.rules:
        return None
    features = state.features[index]
    for before in state.earlier.get(prepared.command.sender_id, []):
        features = features.after(before, attempt, completed=True)
    risk = prepared.command.risk or Screening()
    return fraud.score(state.rules, attempt, features, risk.rates or state.rates)


def _check_cap(
    state: _Snapshot, recipient: _Recipient, target: ledger.AccountState, amount: Money
) -> None:
    """The recipient's worth once this send arrives, as `limits.check_received` reads
    it after posting (a hot account's deferred credit counts: the view adds it)."""
    worth = dict(state.worth[recipient.id])
    worth[target.id] = worth.get(target.id, Money(0, amount.currency)) + amount
    total = sum(state.rates.usd_value(m) for m in worth.values())
    limits.check_received_worth(recipient.verification_level, total, amount, state.rates)


def _move_worth(state: _Snapshot, owner: int, account: int, minor: int) -> None:
    accounts = state.worth.get(owner)
    if accounts is not None and account in accounts:
        held = accounts[account]
        accounts[account] = Money(held.amount_minor + minor, held.currency)


async def _write(
    conn: Connection,
    accepted: list[_Accepted],
    replays: dict[int, int],
    outcomes: list[Outcome | None],
    state: _Snapshot,
) -> None:
    """The write pass (the module's docstring, step 3); fills in the outcomes."""
    if accepted:
        entry_ids = await ledger.post_transfers(
            conn,
            "p2p",
            [
                ledger.Transfer(
                    a.source,
                    a.target,
                    a.prepared.command.amount,
                    f"p2p {a.prepared.command.sender_id}->{a.recipient.id}",
                )
                for a in accepted
            ],
        )
        recorded = await transactions.record_completed_many(
            conn,
            [
                transactions.NewTransaction(
                    type=TransactionType.SEND,
                    amount=a.prepared.command.amount,
                    initiator_user_id=a.prepared.command.sender_id,
                    counterparty_user_id=a.recipient.id,
                    note=a.prepared.command.note,
                )
                for a in accepted
            ],
            entry_ids,
        )
        await emit_many(
            conn,
            Topic.BALANCE_CHANGED,
            [
                {
                    "user_id": user_id,
                    "currency": a.prepared.command.amount.currency.value,
                    "entry_id": entry_id,
                    "transaction_id": transaction_id,
                }
                for a, entry_id, (transaction_id, _) in zip(
                    accepted, entry_ids, recorded, strict=True
                )
                for user_id in (a.prepared.command.sender_id, a.recipient.id)
            ],
        )
        if state.rules:
            await fraud.remember_locations(conn, [a.attempt for a in accepted])
        receipts = [
            _receipt(a, transaction_id, created_at.isoformat())
            for a, (transaction_id, created_at) in zip(accepted, recorded, strict=True)
        ]
        await idempotency.remember_many(
            conn,
            [
                (
                    a.prepared.principal,
                    a.prepared.command.idempotency_key,
                    a.prepared.fingerprint,
                    r.to_json(),
                )
                for a, r in zip(accepted, receipts, strict=True)
            ],
        )
        for a, receipt in zip(accepted, receipts, strict=True):
            outcomes[a.index] = receipt
    for index, original in replays.items():
        outcomes[index] = outcomes[original]
    accepted.clear()
    replays.clear()


def _receipt(a: _Accepted, transaction_id: int, created_at: str) -> TransferReceipt:
    command = a.prepared.command
    return TransferReceipt(
        transaction_id=transaction_id,
        status=TransactionStatus.COMPLETED.value,
        amount_minor=command.amount.amount_minor,
        currency=command.amount.currency.value,
        recipient_user_id=a.recipient.id,
        recipient_username=a.recipient.username,
        note=command.note,
        created_at=created_at,
    )
