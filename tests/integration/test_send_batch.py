"""The batched write path for sends (wallet.transfers.batch), against the real database.

Sends gathered together share one transaction; each gets its own outcome, decided in
queue order on what the earlier ones left; a refusal takes back only itself; duplicate
keys in one batch, across batches and across batchers (processes) move money once.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import make_user
from tests.ledger_helpers import wallet_cents
from wallet.db.engine import connection, transaction
from wallet.idempotency.service import IdempotencyConflict
from wallet.ledger.errors import InsufficientFunds
from wallet.ledger.invariants import check_ledger
from wallet.money import Currency, Money
from wallet.transfers import batch
from wallet.transfers.batch import SendBatcher
from wallet.transfers.errors import RecipientNotFound, SelfTransfer
from wallet.transfers.service import (
    SendMoney,
    TransferReceipt,
    prepare,
    send_alone,
    send_batch,
    send_money,
)

pytestmark = pytest.mark.usefixtures("assert_ledger_sound")


@contextlib.contextmanager
def installed(fresh: SendBatcher) -> Iterator[SendBatcher]:
    """`fresh` as this loop's batcher meanwhile."""
    loop = asyncio.get_running_loop()
    previous = batch._batchers.get(loop)
    batch._batchers[loop] = fresh
    try:
        yield fresh
    finally:
        if previous is None:
            del batch._batchers[loop]
        else:
            batch._batchers[loop] = previous


@pytest.fixture
async def batcher() -> AsyncIterator[SendBatcher]:
    """This loop's batcher: up to 64 sends a batch, one batch in flight (so that the
    outcome is that of applying the sends one by one in queue order)."""
    with installed(SendBatcher(64, 1)) as fresh:
        yield fresh
        assert fresh.fallbacks == 0  # every batch was decided set-based, none re-run alone


@pytest.fixture
async def two_flushes() -> AsyncIterator[SendBatcher]:
    """This loop's batcher with two batches in flight at most, as configured."""
    with installed(SendBatcher(64, 2)) as fresh:
        yield fresh


async def quiet_fraud_rules() -> None:
    # Dozens of sends a second from one wallet are what these tests are made of.
    async with connection() as conn:
        await conn.execute("UPDATE fraud_rule SET enabled = false WHERE kind LIKE 'velocity%'")
        await conn.execute("UPDATE app_user SET verification_level = 'premium'")


def usd(minor: int) -> Money:
    return Money(minor, Currency.USD)


async def attempt(command: SendMoney) -> TransferReceipt | Exception:
    try:
        return await send_money(command)
    except Exception as refusal:
        return refusal


async def send_count() -> int:
    async with connection() as conn:
        return int(
            await conn.fetchval("SELECT count(*) FROM money_transaction WHERE type = 'send'")
        )


async def test_gathered_sends_share_one_batch_and_later_ones_see_earlier_balances(
    batcher: SendBatcher,
) -> None:
    payer, payee = await make_user(balance="1.00"), await make_user()
    await quiet_fraud_rules()
    outcomes = await asyncio.gather(
        *(
            attempt(SendMoney(payer.id, payee.username, usd(30), "", uuid.uuid4().hex))
            for _ in range(10)
        )
    )
    assert batcher.batches == 1 and batcher.batched_sends == 10
    # Queue order: the first three fit in $1.00, the other seven do not.
    assert [isinstance(o, TransferReceipt) for o in outcomes] == [True] * 3 + [False] * 7
    assert all(isinstance(o, InsufficientFunds) for o in outcomes[3:])
    assert await wallet_cents(payer.id) == 10
    assert await wallet_cents(payee.id) == 90
    assert await send_count() == 3


async def test_sends_waiting_together_are_shared_among_the_free_flushes(
    two_flushes: SendBatcher,
) -> None:
    """Two flushes free and 16 sends waiting: two batches of 8 run at once (one of 16
    would leave the second flush idle and every caller waiting on the one)."""
    users = [await make_user(balance="1.00") for _ in range(32)]
    await quiet_fraud_rules()
    outcomes = await asyncio.gather(
        *(
            attempt(SendMoney(users[i].id, users[i + 16].username, usd(10), "", uuid.uuid4().hex))
            for i in range(16)
        )
    )
    shared = two_flushes
    assert all(isinstance(o, TransferReceipt) for o in outcomes)
    assert (shared.batches, shared.batched_sends, shared.fallbacks) == (2, 16, 0)


async def test_while_a_batch_is_in_flight_a_few_sends_wait_for_it_together(
    two_flushes: SendBatcher,
) -> None:
    """A send arriving while another batch is in flight waits (for that batch, or for
    a crowd) instead of running alone on the second flush: the two that arrive one
    after the other go together once the first is done."""
    shared = two_flushes
    users = [await make_user(balance="1.00") for _ in range(6)]
    await quiet_fraud_rules()

    def send(i: int) -> asyncio.Task[TransferReceipt | Exception]:
        command = SendMoney(users[i].id, users[i + 3].username, usd(10), "", uuid.uuid4().hex)
        return asyncio.create_task(attempt(command))

    async with connection() as holder, holder.transaction():
        # The first send's wallet is held, so its batch stays in flight meanwhile.
        await holder.execute("SELECT 1 FROM wallet WHERE user_id = $1 FOR UPDATE", users[0].id)
        first = send(0)
        await asyncio.sleep(0.2)
        second = send(1)
        await asyncio.sleep(0.2)
        third = send(2)
        await asyncio.sleep(0.2)
        assert (shared.batches, shared.batched_sends) == (1, 1)
    outcomes = await asyncio.gather(first, second, third)
    assert all(isinstance(o, TransferReceipt) for o in outcomes)
    assert (shared.batches, shared.batched_sends, shared.fallbacks) == (2, 3, 0)


async def test_a_refusal_in_a_batch_takes_back_only_itself(batcher: SendBatcher) -> None:
    payer, payee = await make_user(balance="5.00"), await make_user()
    await quiet_fraud_rules()
    commands = [
        SendMoney(payer.id, payee.username, usd(100), "", "k1"),
        SendMoney(payer.id, payer.username, usd(100), "", "k2"),  # to oneself
        SendMoney(payer.id, "nobody_by_that_name", usd(100), "", "k3"),
        SendMoney(payer.id, payee.username, usd(900), "", "k4"),  # more than is left
        SendMoney(payer.id, payee.username, usd(200), "", "k5"),
    ]
    outcomes = await asyncio.gather(*(attempt(c) for c in commands))
    assert batcher.batches == 1
    assert isinstance(outcomes[0], TransferReceipt)
    assert isinstance(outcomes[1], SelfTransfer)
    assert isinstance(outcomes[2], RecipientNotFound)
    assert isinstance(outcomes[3], InsufficientFunds)
    assert isinstance(outcomes[4], TransferReceipt)
    assert await wallet_cents(payer.id) == 200
    assert await wallet_cents(payee.id) == 300
    async with connection() as conn:
        keys = await conn.fetch("SELECT key FROM idempotency_key ORDER BY key")
    assert [r["key"] for r in keys] == ["k1", "k5"]  # refusals write nothing


async def test_duplicate_keys_in_one_batch_move_money_once(batcher: SendBatcher) -> None:
    payer, payee = await make_user(balance="5.00"), await make_user()
    await quiet_fraud_rules()
    same = SendMoney(payer.id, payee.username, usd(150), "rent", "the-key")
    different = SendMoney(payer.id, payee.username, usd(151), "rent", "the-key")
    outcomes = await asyncio.gather(*(attempt(c) for c in [same, same, different, same]))
    assert batcher.batches == 1
    first = outcomes[0]
    assert isinstance(first, TransferReceipt)
    assert outcomes[1] == first and outcomes[3] == first
    assert isinstance(outcomes[2], IdempotencyConflict)
    # And in a later batch, the same single result.
    assert await send_money(same) == first
    assert await send_count() == 1
    assert await wallet_cents(payee.id) == 150


async def test_a_send_inside_the_callers_transaction_joins_it_unbatched(
    batcher: SendBatcher,
) -> None:
    payer, payee = await make_user(balance="5.00"), await make_user()
    await quiet_fraud_rules()
    with pytest.raises(RuntimeError, match="caller changed its mind"):
        async with transaction():
            await send_money(SendMoney(payer.id, payee.username, usd(100), "", "inside"))
            raise RuntimeError("caller changed its mind")
    assert batcher.batches == 0
    assert await wallet_cents(payer.id) == 500  # rolled back with the caller


async def test_two_batchers_crossing_the_same_wallets_do_not_deadlock_and_keys_hold(
    batcher: SendBatcher,
) -> None:
    """Two processes' batchers: opposite directions between the same wallets, in
    batches running at once, and the same keys sent through both."""
    users = [await make_user(balance="50.00") for _ in range(4)]
    await quiet_fraud_rules()
    other = SendBatcher(64, 2)
    loop = asyncio.get_running_loop()
    keys = [uuid.uuid4().hex for _ in range(60)]

    def command(n: int) -> SendMoney:
        sender, recipient = users[n % 4], users[(n * 3 + 1) % 4]
        if sender is recipient:
            recipient = users[(n + 2) % 4]
        return SendMoney(sender.id, recipient.username, usd(1 + n % 7), "", keys[n])

    async def via(chosen: SendBatcher, n: int) -> TransferReceipt:
        return await chosen.submit(prepare(command(n)), send_alone, send_batch)

    results: list[TransferReceipt] = []
    for _ in range(3):  # every key three times over, through both batchers
        results += await asyncio.gather(
            *(via(batcher if n % 2 else other, n) for n in range(60)),
            *(via(other if n % 2 else batcher, n) for n in reversed(range(60))),
        )
    assert loop.is_running()
    by_key: dict[str, set[int]] = {}
    for receipt, n in zip(results, [*range(60), *reversed(range(60))] * 3, strict=True):
        by_key.setdefault(keys[n], set()).add(receipt.transaction_id)
    assert all(len(ids) == 1 for ids in by_key.values())
    assert await send_count() == 60
    assert sum([await wallet_cents(u.id) for u in users]) == 4 * 5000
    assert other.batches + batcher.batches < 360  # they did share transactions


OPS = st.lists(
    st.tuples(
        st.integers(0, 2),  # sender
        st.integers(0, 3),  # recipient (3: nobody by that name; the sender: oneself)
        st.integers(1, 400),  # cents
        st.integers(0, 5),  # idempotency key: few, so that some repeat
    ),
    min_size=1,
    max_size=40,
)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(operations=OPS, size=st.integers(2, 16))
async def test_batches_match_sending_one_by_one_in_queue_order(
    batcher: SendBatcher, operations: list[tuple[int, int, int, int]], size: int
) -> None:
    """Random sends, with refusals and repeated keys, gathered into batches of at most
    `size`: every outcome is what a sequential model says, and money is conserved."""
    batcher.size = size
    users = [await make_user(balance="5.00") for _ in range(3)]
    await quiet_fraud_rules()
    names = [u.username for u in users] + [f"nobody_{uuid.uuid4().hex[:12]}"]
    run = uuid.uuid4().hex[:8]
    commands = [
        SendMoney(users[s].id, names[r], usd(cents), "", f"{run}-{key}")
        for s, r, cents, key in operations
    ]
    outcomes = await asyncio.gather(*(attempt(c) for c in commands))

    balances = [500, 500, 500]
    stored: dict[tuple[int, str], tuple[SendMoney, int]] = {}  # key -> (request, index)
    for n, (command, (s, r, cents, _)) in enumerate(zip(commands, operations, strict=True)):
        outcome = outcomes[n]
        earlier = stored.get((s, command.idempotency_key))
        if earlier is not None:
            if earlier[0] == command:
                assert outcome == outcomes[earlier[1]]
            else:
                assert isinstance(outcome, IdempotencyConflict)
        elif r == 3:
            assert isinstance(outcome, RecipientNotFound)
        elif r == s:
            assert isinstance(outcome, SelfTransfer)
        elif cents > balances[s]:
            assert isinstance(outcome, InsufficientFunds)
        else:
            assert isinstance(outcome, TransferReceipt), outcome
            balances[s] -= cents
            balances[r] += cents
            stored[(s, command.idempotency_key)] = (command, n)
    assert [await wallet_cents(u.id) for u in users] == balances
    async with connection() as conn:
        assert await check_ledger(conn) == []
