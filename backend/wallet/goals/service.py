"""Savings goals: named vaults with a target and an optional date.

A vault is a ledger account of its user (`user:<id>:<CUR>:vault:<goal id>`, a liability
with no overdraft), so the money in it is the user's and the ledger's invariants cover
it. Money moves between the wallet balance and the vault by hand, by round-ups of
merchant payments (the worker, once per payment) and by a weekly amount (the worker,
once per week). Every move is one journal entry and one transaction, like a transfer.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from wallet.commands.actor import Actor
from wallet.commands.runner import Command, run
from wallet.db.engine import Connection, connection, transaction
from wallet.errors import NonPositiveAmount
from wallet.goals.errors import GoalError, GoalNotFound
from wallet.goals.tables import SavingsGoal, SavingsRoundUp
from wallet.ledger import service as ledger
from wallet.ledger.errors import AccountNotActive, InsufficientFunds
from wallet.ledger.models import AccountType, EntryDraft, OwnerType
from wallet.money import Currency, Money
from wallet.notifications.money import event_payload
from wallet.outbox.service import Topic, emit
from wallet.transactions import service as transactions
from wallet.transactions.models import TransactionType
from wallet.transactions.tables import MoneyTransaction
from wallet.wallets.errors import WalletUnavailable
from wallet.wallets.service import lock_for_spending, open_balance

MAX_GOALS = 20
WEEK = timedelta(days=7)
WEEKLY_RULE = "The weekly amount is zero or more, in the goal's currency"


@dataclass(frozen=True, slots=True)
class Goal:
    id: int
    name: str
    target: Money
    saved: Money
    target_date: date | None
    round_up: bool
    weekly_amount: Money
    next_weekly_at: datetime | None
    status: str

    @property
    def percent(self) -> int:
        return min(self.saved.amount_minor * 100 // self.target.amount_minor, 100)


@dataclass(frozen=True, slots=True)
class GoalMove:
    """A move's receipt; replayed verbatim for a repeated idempotency key."""

    goal_id: int
    transaction_id: int
    amount_minor: int
    currency: str
    into_goal: bool

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def round_up_unit(currency: Currency) -> int:
    """Round-ups go to the next whole unit (the next 100 for yen, which has no cents)."""
    return 100 if currency.exponent == 0 else 10**currency.exponent


def round_up_of(amount: Money) -> int:
    unit = round_up_unit(amount.currency)
    return (-amount.amount_minor) % unit


_COLUMNS = (
    SavingsGoal.id,
    SavingsGoal.user_id,
    SavingsGoal.name,
    SavingsGoal.currency,
    SavingsGoal.target,
    SavingsGoal.target_date,
    SavingsGoal.round_up,
    SavingsGoal.weekly_amount,
    SavingsGoal.next_weekly_at,
    SavingsGoal.status,
    SavingsGoal.account_id,
)


async def _with_saved(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`rows` of goals, each with `saved`: what its vault holds (the ledger's balance view,
    which counts a hot account's queued deltas), in one query for all of them."""
    if not rows:
        return rows
    async with connection() as conn:  # the enclosing transaction's, if there is one
        balances = await ledger.balances(conn, [int(r["account_id"]) for r in rows])
    saved = {account_id: b.posted for account_id, b in balances.items()}
    return [{**r, "saved": saved[r["account_id"]]} for r in rows]


def _active() -> Any:
    return SavingsGoal.status == "active"


def _goal(row: Any) -> Goal:
    currency = Currency(row["currency"])
    return Goal(
        id=int(row["id"]),
        name=row["name"],
        target=Money(int(row["target"]), currency),
        saved=Money(int(row["saved"]), currency),
        target_date=row["target_date"],
        round_up=row["round_up"],
        weekly_amount=Money(int(row["weekly_amount"]), currency),
        next_weekly_at=row["next_weekly_at"],
        status=row["status"],
    )


async def goals_of(user_id: int) -> list[Goal]:
    rows = await (
        SavingsGoal.select(*_COLUMNS)
        .where((SavingsGoal.user_id == user_id) & _active())
        .order_by(SavingsGoal.id)
    )
    return [_goal(r) for r in await _with_saved(rows)]


async def _load(user_id: int, goal_id: int, *, lock: bool = False) -> Any:
    """The user's active goal with what it holds; locked for the transaction if `lock`."""
    query = SavingsGoal.select(*_COLUMNS).where(
        (SavingsGoal.id == goal_id) & (SavingsGoal.user_id == user_id) & _active()
    )
    row = await (query.lock_rows("UPDATE") if lock else query).first()
    if row is None:
        raise GoalNotFound()
    return (await _with_saved([row]))[0]


def _validate(name: str, target: Money, weekly: Money | None, target_date: date | None) -> str:
    text = " ".join(name.split())
    if not 1 <= len(text) <= 60:
        raise GoalError("name", "Name the goal in 1 to 60 characters")
    if not target.is_positive:
        raise GoalError("target", "The target must be more than zero")
    if weekly is not None and (weekly.amount_minor < 0 or weekly.currency is not target.currency):
        raise GoalError("weeklyAmount", WEEKLY_RULE)
    if target_date is not None and target_date <= datetime.now(UTC).date():
        raise GoalError("targetDate", "The target date must be in the future")
    return text


async def create_goal(
    user_id: int,
    name: str,
    target: Money,
    *,
    target_date: date | None = None,
    round_up: bool = False,
    weekly: Money | None = None,
) -> Goal:
    text = _validate(name, target, weekly, target_date)
    async with transaction() as conn:
        count = await SavingsGoal.count().where((SavingsGoal.user_id == user_id) & _active())
        if count >= MAX_GOALS:
            raise GoalError("name", f"At most {MAX_GOALS} goals at a time")
        # The id first: the vault's account code names it (Piccolo has no nextval()).
        [next_id] = await SavingsGoal.raw("SELECT nextval('savings_goal_id_seq') AS id")
        goal_id = int(next_id["id"])
        account_id = await ledger.open_account(
            conn,
            owner_type=OwnerType.USER,
            owner_id=user_id,
            currency=target.currency,
            purpose=f"vault:{goal_id}",
            account_type=AccountType.LIABILITY,
            no_overdraft=True,
        )
        weekly_minor = weekly.amount_minor if weekly else 0
        await SavingsGoal.insert(
            SavingsGoal(
                id=goal_id,
                user_id=user_id,
                name=text,
                currency=target.currency.value,
                target=target.amount_minor,
                target_date=target_date,
                account_id=account_id,
                round_up=round_up,
                weekly_amount=weekly_minor,
                next_weekly_at=_a_week_on() if weekly_minor > 0 else None,
            )
        )
        return _goal(await _load(user_id, goal_id))


def _a_week_on() -> datetime:
    """A week from now, by the service's clock: the one the weekly worker's due check
    compares with (`run_weekly_transfers`)."""
    return datetime.now(UTC) + WEEK


async def update_rules(user_id: int, goal_id: int, *, round_up: bool, weekly: Money) -> Goal:
    async with transaction():
        row = await _load(user_id, goal_id, lock=True)
        if weekly.amount_minor < 0 or weekly.currency.value != row["currency"]:
            raise GoalError(
                "weeklyAmount", "The weekly amount is zero or more, in the goal's currency"
            )
        next_weekly_at = None
        if weekly.amount_minor > 0:
            next_weekly_at = row["next_weekly_at"] or _a_week_on()
        await SavingsGoal.update(
            {
                SavingsGoal.round_up: round_up,
                SavingsGoal.weekly_amount: weekly.amount_minor,
                SavingsGoal.next_weekly_at: next_weekly_at,
            }
        ).where(SavingsGoal.id == goal_id)
        return _goal(await _load(user_id, goal_id))


async def _move(
    conn: Connection, user_id: int, goal: Any, amount: Money, *, into_goal: bool, note: str
) -> int:
    """Post one move between the wallet balance and the vault; the transaction id."""
    wallet = await lock_for_spending(conn, user_id)
    if wallet is None or wallet.status not in ("active", "restricted"):
        raise WalletUnavailable("your", wallet.status if wallet else "missing")
    if into_goal and wallet.status != "active":
        raise WalletUnavailable("your", wallet.status)
    balance = await open_balance(conn, user_id, amount.currency)
    vault = int(goal["account_id"])
    source, target = (balance, vault) if into_goal else (vault, balance)
    entry_id = await ledger.post_entry(
        conn, EntryDraft.transfer("savings", source, target, amount, f"goal {goal['id']}")
    )
    kind = TransactionType.SAVINGS if into_goal else TransactionType.SAVINGS_WITHDRAWAL
    transaction_id, _ = await transactions.record_completed(
        conn,
        transactions.NewTransaction(
            type=kind,
            amount=amount,
            initiator_user_id=user_id,
            note=note,
            savings_goal_id=int(goal["id"]),
        ),
        entry_id,
    )
    await emit(
        conn,
        Topic.BALANCE_CHANGED,
        {"user_id": user_id, "currency": amount.currency.value, "entry_id": entry_id},
    )
    return transaction_id


@dataclass(frozen=True, slots=True)
class MoveInput:
    goal_id: int
    amount: Money
    into_goal: bool


def _validate_move(actor: Actor, move: MoveInput) -> None:
    if not move.amount.is_positive:
        raise NonPositiveAmount()


async def _apply_move(conn: Connection, actor: Actor, move: MoveInput) -> GoalMove:
    user_id = actor.require_user()
    goal = await _load(user_id, move.goal_id, lock=True)
    if goal["currency"] != move.amount.currency.value:
        raise GoalError("currency", f"This goal saves in {goal['currency']}")
    transaction_id = await _move(
        conn, user_id, goal, move.amount, into_goal=move.into_goal, note=goal["name"]
    )
    return GoalMove(
        move.goal_id,
        transaction_id,
        move.amount.amount_minor,
        move.amount.currency.value,
        move.into_goal,
    )


async def _replay_move(
    conn: Connection, actor: Actor, move: MoveInput, stored: dict[str, Any]
) -> GoalMove:
    return GoalMove(**stored)


MOVE = Command[MoveInput, GoalMove](
    name="goalMove",
    validate=_validate_move,
    fingerprint=lambda move: {
        "goal": move.goal_id,
        "in": move.into_goal,
        "amount": move.amount.amount_minor,
        "currency": move.amount.currency.value,
    },
    change=_apply_move,
    response=GoalMove.to_json,
    replay=_replay_move,
    refusals=(
        NonPositiveAmount,
        GoalNotFound,
        GoalError,
        InsufficientFunds,
        AccountNotActive,
        WalletUnavailable,
    ),
)


async def move(
    actor: Actor, goal_id: int, amount: Money, idempotency_key: str, *, into_goal: bool
) -> GoalMove:
    """Move money into the goal (or back out to the wallet), exactly once per key."""
    return await run(MOVE, actor, MoveInput(goal_id, amount, into_goal), idempotency_key)


async def close_goal(user_id: int, goal_id: int) -> Money:
    """Move what is saved back to the wallet and close the goal; what came back."""
    async with transaction() as conn:
        goal = await _load(user_id, goal_id, lock=True)
        await ledger.lock_accounts(conn, [int(goal["account_id"])])
        saved = Money(int(goal["saved"]), Currency(goal["currency"]))
        if saved.is_positive:
            await _move(conn, user_id, goal, saved, into_goal=False, note=f"{goal['name']} closed")
        await SavingsGoal.update({SavingsGoal.status: "closed"}).where(SavingsGoal.id == goal_id)
        await ledger.close_account(conn, int(goal["account_id"]))
        return saved


async def round_up_payment(user_id: int, payment_id: int) -> int | None:
    """Round a completed merchant payment up into the user's round-up goal in its currency
    (the oldest one), once; None when there is nothing to do or no money for it."""
    async with transaction() as conn:
        payment = (
            await MoneyTransaction.select(MoneyTransaction.currency, MoneyTransaction.amount)
            .where(
                (MoneyTransaction.id == payment_id)
                & (MoneyTransaction.type == "payment")
                & (MoneyTransaction.status == "completed")
                & (MoneyTransaction.initiator_user_id == user_id)
            )
            .first()
        )
        if payment is None:
            return None
        amount = Money(int(payment["amount"]), Currency(payment["currency"]))
        extra = round_up_of(amount)
        found = (
            await SavingsGoal.select(*_COLUMNS)
            .where(
                (SavingsGoal.user_id == user_id)
                & (SavingsGoal.currency == amount.currency.value)
                & _active()
                & (SavingsGoal.round_up == True)  # noqa: E712 (a Piccolo condition)
            )
            .order_by(SavingsGoal.id)
            .lock_rows("UPDATE")
            .first()
        )
        if found is None or extra == 0:
            return None
        [goal] = await _with_saved([found])
        claimed = (
            await SavingsRoundUp.insert(
                SavingsRoundUp(payment_id=payment_id, goal_id=int(goal["id"]))
            )
            .on_conflict(action="DO NOTHING")
            .returning(SavingsRoundUp.payment_id)
        )
        if not claimed:
            return None
        try:
            async with conn.transaction():  # a savepoint: no money, no round-up, no error
                transaction_id = await _move(
                    conn,
                    user_id,
                    goal,
                    Money(extra, amount.currency),
                    into_goal=True,
                    note=f"Round-up: {goal['name']}",
                )
        except (InsufficientFunds, WalletUnavailable):
            return None
        await SavingsRoundUp.update({SavingsRoundUp.transaction_id: transaction_id}).where(
            SavingsRoundUp.payment_id == payment_id
        )
        return transaction_id


async def round_up_on_event(event_id: int) -> int:
    """Worker: round-ups for a `transaction.updated` event of a completed payment."""
    payload = await event_payload(event_id)
    if payload is None or payload.get("status") != "completed":
        return 0
    done = 0
    for user_id in payload.get("user_ids", []):
        if await round_up_payment(int(user_id), int(payload["transaction_id"])) is not None:
            done += 1
    return done


async def run_weekly_transfers(now: datetime | None = None, batch: int = 100) -> int:
    """Worker: move each due goal's weekly amount (skipping a week without the money)."""
    moment = now or datetime.now(UTC)
    moved = 0
    async with transaction() as conn:
        due = await (
            SavingsGoal.select(*_COLUMNS)
            .where(
                _active() & (SavingsGoal.weekly_amount > 0) & (SavingsGoal.next_weekly_at <= moment)
            )
            .order_by(SavingsGoal.next_weekly_at)
            .limit(batch)
            .lock_rows("UPDATE", skip_locked=True)
        )
        for goal in await _with_saved(due):
            user_id = goal["user_id"]
            amount = Money(int(goal["weekly_amount"]), Currency(goal["currency"]))
            try:
                async with conn.transaction():
                    await _move(
                        conn,
                        int(user_id),
                        goal,
                        amount,
                        into_goal=True,
                        note=f"Weekly: {goal['name']}",
                    )
                moved += 1
            except (InsufficientFunds, WalletUnavailable):
                pass
            # The next slot after now: a worker that was down skips the missed weeks.
            slot: datetime = goal["next_weekly_at"]
            slot += WEEK * ((moment - slot) // WEEK + 1)
            await SavingsGoal.update({SavingsGoal.next_weekly_at: slot}).where(
                SavingsGoal.id == goal["id"]
            )
    return moved
