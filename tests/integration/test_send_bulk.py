"""The set-based batch (wallet.transfers.bulk) decides every send as the single-send
code does, with the rules on: limits (per send, daily, monthly, the recipient's cap),
the fraud rules (velocity, usual amount, new recipient: holds and blocks), funds,
repeated keys and unknown recipients. The same random sends run gathered into batches
in one world of users and one by one in a twin world; every outcome and every balance
must agree."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from functools import partial

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.factories import make_user
from tests.ledger_helpers import usd, wallet_cents
from wallet.config import DEFAULT_POLICY, LevelLimits, PeriodLimits
from wallet.db.engine import connection
from wallet.fraud.engine import forget_rules
from wallet.fraud.service import PaymentBlocked
from wallet.ledger.errors import InsufficientFunds
from wallet.ledger.invariants import check_ledger
from wallet.limits import service as limits
from wallet.limits.service import LimitExceeded, LimitScope
from wallet.security.policy import Factor, Proof, SessionState
from wallet.security.stepup import LargeAmountCheck, StepUpRequired
from wallet.transfers import batch
from wallet.transfers.batch import SendBatcher
from wallet.transfers.models import SendMoney, TransferReceipt
from wallet.transfers.service import send_money

pytestmark = pytest.mark.usefixtures("assert_ledger_sound")

# Small enough that a few sends of up to $4.50 among four $5 wallets reach each rule.
POLICY = dict(DEFAULT_POLICY)
POLICY["unverified"] = LevelLimits(
    {
        **DEFAULT_POLICY["unverified"].by_scope,
        LimitScope.SEND.value: PeriodLimits(usd(400), usd(800), usd(1_000)),
    },
    balance_cap=usd(1_000),
)
RULES = {
    "velocity_count": {"window_seconds": 600, "max_count": 3},  # 30
    "velocity_amount": {"window_seconds": 3600, "max_usd": 4},  # 40
    "unusual_amount": {"days": 90, "multiple": 2, "min_history": 2, "min_usd": 1},  # 30
    "new_recipient": {"min_usd": 2},  # 20
}


@pytest.fixture
async def batcher(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[SendBatcher]:
    monkeypatch.setattr(limits, "policy", lambda: POLICY)
    async with connection() as conn:
        for code, params in RULES.items():
            await conn.execute(
                "UPDATE fraud_rule SET params = $2::jsonb, enabled = true WHERE code = $1",
                code,
                json.dumps(params),
            )
    forget_rules()
    loop = asyncio.get_running_loop()
    previous = batch._batchers.get(loop)
    batch._batchers[loop] = fresh = SendBatcher(64, 1)
    yield fresh
    assert fresh.fallbacks == 0
    if previous is None:
        del batch._batchers[loop]
    else:
        batch._batchers[loop] = previous


async def attempt(command: SendMoney) -> TransferReceipt | Exception:
    try:
        return await send_money(command)
    except Exception as refusal:
        return refusal


def described(outcome: TransferReceipt | Exception, ids: list[int]) -> tuple[object, ...]:
    """What must agree between the twin worlds (ids differ; what they stand for not)."""
    match outcome:
        case TransferReceipt():
            return (
                "sent",
                outcome.status,
                outcome.amount_minor,
                ids.index(outcome.recipient_user_id or 0),
            )
        case InsufficientFunds():
            return ("funds", outcome.available, outcome.requested)
        case LimitExceeded():
            return ("limit", outcome.limit_kind, outcome.scope, outcome.remaining)
        case PaymentBlocked():
            return (
                "blocked",
                outcome.assessment.score,
                sorted(h.code for h in outcome.assessment.hits),
            )
        case _:
            return (type(outcome).__name__,)


# (sender, recipient, cents, key): one of each outcome, in a batch or across batches.
EVERY_RULE = [
    (0, 1, 100, 0),  # sent
    (0, 1, 100, 1),  # sent
    (0, 2, 250, 2),  # new recipient 20 + over $4 an hour 40: held for review (pending)
    (0, 3, 300, 3),  # 4th in 10 min 30 + $4/h 40 + twice the usual 30 + new 20: blocked
    (1, 2, 400, 4),  # the recipient's $5 + $2.50 on its way + $4 is over their $10 cap
    (1, 3, 250, 5),  # sent
    (2, 0, 400, 6),  # sent ($4.00 is not over the per-send limit)
    (1, 3, 150, 7),  # sent
    (3, 0, 600, 8),  # over the per-send $4
    (0, 1, 100, 1),  # the second send again: its receipt
    (0, 1, 120, 1),  # its key for another request: a conflict
    (2, 4, 100, 0),  # nobody
    (3, 3, 100, 1),  # to oneself
    (2, 1, 150, 2),  # $1.00 left: insufficient funds
    (3, 1, 390, 3),  # sent
    (3, 2, 390, 4),  # over $4 an hour 40 + new recipient 20: held
    (3, 1, 200, 5),  # $7.80 today already (held sends count): over the daily $8
]
OPS = st.lists(
    st.tuples(
        st.integers(0, 3),  # sender
        st.integers(0, 4),  # recipient (4: nobody)
        st.integers(1, 450),  # cents
        st.integers(0, 8),  # key: a few repeat
    ),
    min_size=2,
    max_size=24,
)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(operations=OPS, size=st.integers(2, 24))
@example(operations=EVERY_RULE, size=len(EVERY_RULE))
@example(operations=EVERY_RULE, size=3)
async def test_a_batch_decides_every_send_as_sending_them_one_by_one(
    batcher: SendBatcher, operations: list[tuple[int, int, int, int]], size: int
) -> None:
    run = uuid.uuid4().hex[:8]
    worlds = []
    for _ in range(2):
        users = [await make_user(balance="5.00") for _ in range(4)]
        names = [u.username for u in users] + [f"nobody_{uuid.uuid4().hex[:12]}"]
        worlds.append(
            (
                [u.id for u in users],
                [
                    SendMoney(users[s].id, names[r], usd(cents), "", f"{run}-{key}")
                    for s, r, cents, key in operations
                ],
            )
        )
    (batched_ids, batched), (alone_ids, alone) = worlds

    batcher.size = size
    sends_before = batcher.batched_sends
    gathered = await asyncio.gather(*(attempt(c) for c in batched))
    assert batcher.batched_sends - sends_before == len(operations)
    batcher.size = 1  # now one at a time, in the same order
    one_by_one = [await attempt(c) for c in alone]

    assert [described(o, batched_ids) for o in gathered] == [
        described(o, alone_ids) for o in one_by_one
    ]
    assert [await wallet_cents(u) for u in batched_ids] == [
        await wallet_cents(u) for u in alone_ids
    ]
    async with connection() as conn:
        assert await check_ledger(conn) == []


async def test_a_large_send_asks_for_step_up_before_anything_yet_its_replay_does_not() -> None:
    """Step-up is judged before the send is queued or anything written; once the proof
    is stale, the same request under its key still gets its receipt (a replay is not
    judged again), and another request is asked for a second factor."""
    alice, bob = await make_user(balance="900.00", pin="2468"), await make_user()
    now = time.time()
    fresh = SessionState(now - 60, new_device=False, proofs=(Proof(Factor.PIN, now - 5, True),))
    stale = SessionState(now - 60, new_device=False, proofs=())
    check = partial(LargeAmountCheck, above_usd_minor=50_000, fresh_seconds=300)

    def large(session: SessionState, key: str) -> SendMoney:
        return SendMoney(alice.id, bob.username, usd(60_000), "", key, large_amount=check(session))

    with pytest.raises(StepUpRequired):
        await send_money(large(stale, "big-1"))
    assert await wallet_cents(alice.id) == 90_000  # nothing moved, no key taken
    receipt = await send_money(large(fresh, "big-1"))
    assert await send_money(large(stale, "big-1")) == receipt
    with pytest.raises(StepUpRequired):
        await send_money(large(stale, "big-2"))
    assert (await wallet_cents(alice.id), await wallet_cents(bob.id)) == (30_000, 60_000)
