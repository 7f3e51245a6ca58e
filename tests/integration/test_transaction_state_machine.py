"""Every transition outside the table is refused, and every legal one is recorded."""

import pytest

from tests.factories import make_user
from wallet.db.engine import connection, transaction
from wallet.money import Currency, Money
from wallet.transactions import service as transactions
from wallet.transactions.errors import IllegalTransition, TransactionNotFound
from wallet.transactions.models import TRANSITIONS, TransactionStatus, TransactionType

S = TransactionStatus
PATH_TO = {
    S.INITIATED: [],
    S.PENDING: [S.PENDING],
    S.PROCESSING: [S.PROCESSING],
    S.COMPLETED: [S.COMPLETED],
    S.FAILED: [S.FAILED],
    S.REVERSED: [S.COMPLETED, S.REVERSED],
    S.EXPIRED: [S.PENDING, S.EXPIRED],
}
ILLEGAL = [(a, b) for a in S for b in S if b not in TRANSITIONS[a]]


async def _transaction_in(status: TransactionStatus) -> int:
    user = await make_user()
    async with transaction() as conn:
        txn, _ = await transactions.create(
            conn,
            transactions.NewTransaction(TransactionType.SEND, Money(100, Currency.USD), user.id),
        )
        for step in PATH_TO[status]:
            await transactions.transition(conn, txn, step)
    return txn


async def _history(txn: int) -> list[tuple[str | None, str]]:
    async with connection() as conn:
        rows = await conn.fetch(
            "SELECT from_status, to_status FROM transaction_transition "
            "WHERE transaction_id = $1 ORDER BY id",
            txn,
        )
    return [(r["from_status"], r["to_status"]) for r in rows]


def test_terminal_states_have_no_way_out() -> None:
    for terminal in (S.FAILED, S.REVERSED, S.EXPIRED):
        assert TRANSITIONS[terminal] == frozenset()


@pytest.mark.usefixtures("database_url")
@pytest.mark.parametrize(("current", "target"), ILLEGAL, ids=lambda s: s.value)
async def test_illegal_transition_is_refused_and_not_recorded(
    current: TransactionStatus, target: TransactionStatus
) -> None:
    txn = await _transaction_in(current)
    before = await _history(txn)
    with pytest.raises(IllegalTransition):
        async with transaction() as conn:
            await transactions.transition(conn, txn, target)
    assert await _history(txn) == before
    async with connection() as conn:
        assert (
            await conn.fetchval("SELECT status FROM money_transaction WHERE id = $1", txn)
            == current.value
        )


@pytest.mark.usefixtures("database_url")
async def test_every_legal_transition_is_appended_to_the_history() -> None:
    txn = await _transaction_in(S.EXPIRED)
    assert await _history(txn) == [
        (None, "initiated"),
        ("initiated", "pending"),
        ("pending", "expired"),
    ]


async def test_history_rows_are_immutable_and_unknown_ids_are_reported(
    owner_database_url: str,
) -> None:
    import asyncpg

    txn = await _transaction_in(S.COMPLETED)
    # As the owner: the app's role has no DELETE here at all (test_database_roles.py).
    conn = await asyncpg.connect(owner_database_url)
    try:
        with pytest.raises(asyncpg.IntegrityConstraintViolationError):
            await conn.execute("DELETE FROM transaction_transition WHERE transaction_id = $1", txn)
    finally:
        await conn.close()
    with pytest.raises(TransactionNotFound):
        async with transaction() as conn:
            await transactions.transition(conn, 10**12, S.COMPLETED)
