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

from wallet.db.engine import Connection, connection, transaction
from wallet.errors import NonPositiveAmount
from wallet.goals.errors import GoalError, GoalNotFound
from wallet.idempotency import service as idempotency
from wallet.ledger import service as ledger
from wallet.ledger.errors import InsufficientFunds
from wallet.ledger.models import AccountType, EntryDraft, OwnerType
from wallet.money import Currency, Money
from wallet.notifications.money import event_payload
from wallet.outbox.service import Topic, emit
from wallet.transactions import service as transactions
from wallet.transactions.models import TransactionType
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


_SELECT = """
    SELECT g.id, g.name, g.currency, g.target, g.target_date, g.round_up, g.weekly_amount,
           g.next_weekly_at, g.status, g.account_id,
           b.posted_credits - b.posted_debits AS saved
    FROM savings_goal g JOIN ledger_balance b ON b.id = g.account_id
"""


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
    async with connection() as conn:
        rows = await conn.fetch(
            f"{_SELECT} WHERE g.user_id = $1 AND g.status = 'active' ORDER BY g.id", user_id
        )
    return [_goal(r) for r in rows]


async def _load(conn: Connection, user_id: int, goal_id: int, *, lock: bool = False) -> Any:
    sql = f"{_SELECT} WHERE g.id = $1 AND g.user_id = $2 AND g.status = 'active'"
    row = await conn.fetchrow(f"{sql} FOR UPDATE OF g" if lock else sql, goal_id, user_id)
    if row is None:
        raise GoalNotFound()
    return row


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
        count = await conn.fetchval(
            "SELECT count(*) FROM savings_goal WHERE user_id = $1 AND status = 'active'", user_id
        )
        if count >= MAX_GOALS:
            raise GoalError("name", f"At most {MAX_GOALS} goals at a time")
        goal_id = int(await conn.fetchval("SELECT nextval('savings_goal_id_seq')"))
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
        await conn.execute(
            "INSERT INTO savings_goal (id, user_id, name, currency, target, target_date, "
            "account_id, round_up, weekly_amount, next_weekly_at) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, "
            "CASE WHEN $9::bigint > 0 THEN now() + interval '7 days' END)",
            goal_id,
            user_id,
            text,
            target.currency.value,
            target.amount_minor,
            target_date,
            account_id,
            round_up,
            weekly_minor,
        )
        return _goal(await _load(conn, user_id, goal_id))


async def update_rules(user_id: int, goal_id: int, *, round_up: bool, weekly: Money) -> Goal:
    async with transaction() as conn:
        row = await _load(conn, user_id, goal_id, lock=True)
        if weekly.amount_minor < 0 or weekly.currency.value != row["currency"]:
            raise GoalError(
                "weeklyAmount", "The weekly amount is zero or more, in the goal's currency"
            )
        await conn.execute(
            "UPDATE savings_goal SET round_up = $2, weekly_amount = $3, next_weekly_at = CASE "
            "WHEN $3::bigint = 0 THEN NULL "
            "ELSE coalesce(next_weekly_at, now() + interval '7 days') END WHERE id = $1",
            goal_id,
            round_up,
            weekly.amount_minor,
        )
        return _goal(await _load(conn, user_id, goal_id))


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


async def move(
    user_id: int, goal_id: int, amount: Money, idempotency_key: str, *, into_goal: bool
) -> GoalMove:
    """Move money into the goal (or back out to the wallet), exactly once per key."""
    if not amount.is_positive:
        raise NonPositiveAmount()
    principal = f"user:{user_id}"
    request = idempotency.fingerprint(
        {
            "op": "goalMove",
            "goal": goal_id,
            "in": into_goal,
            "amount": amount.amount_minor,
            "currency": amount.currency.value,
        }
    )
    async with transaction() as conn:
        replay = await idempotency.claim(conn, principal, idempotency_key, request)
        if replay is not None:
            return GoalMove(**replay)
        goal = await _load(conn, user_id, goal_id, lock=True)
        if goal["currency"] != amount.currency.value:
            raise GoalError("currency", f"This goal saves in {goal['currency']}")
        note = goal["name"]
        transaction_id = await _move(conn, user_id, goal, amount, into_goal=into_goal, note=note)
        receipt = GoalMove(
            goal_id, transaction_id, amount.amount_minor, amount.currency.value, into_goal
        )
        await idempotency.remember(conn, principal, idempotency_key, request, receipt.to_json())
        return receipt


async def close_goal(user_id: int, goal_id: int) -> Money:
    """Move what is saved back to the wallet and close the goal; what came back."""
    async with transaction() as conn:
        goal = await _load(conn, user_id, goal_id, lock=True)
        await ledger.lock_accounts(conn, [int(goal["account_id"])])
        saved = Money(int(goal["saved"]), Currency(goal["currency"]))
        if saved.is_positive:
            await _move(conn, user_id, goal, saved, into_goal=False, note=f"{goal['name']} closed")
        await conn.execute("UPDATE savings_goal SET status = 'closed' WHERE id = $1", goal_id)
        await conn.execute(
            "UPDATE ledger_account SET status = 'closed' WHERE id = $1", int(goal["account_id"])
        )
        return saved


async def round_up_payment(user_id: int, payment_id: int) -> int | None:
    """Round a completed merchant payment up into the user's round-up goal in its currency
    (the oldest one), once; None when there is nothing to do or no money for it."""
    async with transaction() as conn:
        payment = await conn.fetchrow(
            "SELECT currency, amount FROM money_transaction WHERE id = $1 AND type = 'payment' "
            "AND status = 'completed' AND initiator_user_id = $2",
            payment_id,
            user_id,
        )
        if payment is None:
            return None
        amount = Money(int(payment["amount"]), Currency(payment["currency"]))
        extra = round_up_of(amount)
        goal = await conn.fetchrow(
            f"{_SELECT} WHERE g.user_id = $1 AND g.currency = $2 AND g.status = 'active' "
            "AND g.round_up ORDER BY g.id LIMIT 1 FOR UPDATE OF g",
            user_id,
            amount.currency.value,
        )
        if goal is None or extra == 0:
            return None
        claimed = await conn.fetchval(
            "INSERT INTO savings_round_up (payment_id, goal_id) VALUES ($1, $2) "
            "ON CONFLICT DO NOTHING RETURNING payment_id",
            payment_id,
            int(goal["id"]),
        )
        if claimed is None:
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
        await conn.execute(
            "UPDATE savings_round_up SET transaction_id = $2 WHERE payment_id = $1",
            payment_id,
            transaction_id,
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
        due = await conn.fetch(
            f"{_SELECT} WHERE g.status = 'active' AND g.weekly_amount > 0 "
            "AND g.next_weekly_at <= $1 ORDER BY g.next_weekly_at LIMIT $2 "
            "FOR UPDATE OF g SKIP LOCKED",
            moment,
            batch,
        )
        for goal in due:
            user_id = await conn.fetchval(
                "SELECT user_id FROM savings_goal WHERE id = $1", goal["id"]
            )
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
            await conn.execute(
                "UPDATE savings_goal SET next_weekly_at = next_weekly_at + $2::interval * "
                "(floor(extract(epoch FROM $3::timestamptz - next_weekly_at) "
                "/ extract(epoch FROM $2::interval)) + 1) "
                "WHERE id = $1",
                goal["id"],
                WEEK,
                moment,
            )
    return moved
