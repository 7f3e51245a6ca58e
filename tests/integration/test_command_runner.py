"""The command runner: idempotency, policy before the change, events, and the rules of
money requests holding for a caller that is not GraphQL (a job, a test, a REST route)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import make_user
from tests.ledger_helpers import wallet_cents
from wallet.commands.actor import Actor
from wallet.commands.runner import Command, run
from wallet.db.engine import Connection, connection
from wallet.idempotency.service import IdempotencyConflict, InvalidIdempotencyKey
from wallet.money import Currency, Money
from wallet.outbox.service import Topic
from wallet.requests import service as requests
from wallet.requests.errors import RequestExpiryOutOfRange
from wallet.security.stepup import StepUpRequired

pytestmark = pytest.mark.usefixtures("database_url")


class Refused(Exception):
    pass


@dataclass(frozen=True)
class Note:
    text: str
    refuse: bool = False


@dataclass
class Calls:
    policy: int = 0
    change: int = 0


def note_command(calls: Calls) -> Command[Note, int]:
    """A command whose change writes one outbox row and returns its id."""

    async def policy(conn: Connection, actor: Actor, note: Note) -> None:
        calls.policy += 1
        if note.refuse:
            raise Refused()

    async def change(conn: Connection, actor: Actor, note: Note) -> int:
        calls.change += 1
        await asyncio.sleep(0)  # let a concurrent duplicate try to overtake
        return int(
            await conn.fetchval(
                "INSERT INTO outbox_event (topic, payload) VALUES ($1, $2::jsonb) RETURNING id",
                Topic.BALANCE_CHANGED.value,
                f'{{"runner_test": "{note.text}"}}',
            )
        )

    async def replay(conn: Connection, actor: Actor, note: Note, stored: dict[str, Any]) -> int:
        return int(stored["event_id"])

    return Command[Note, int](
        name="runnerTestNote",
        fingerprint=lambda note: {"text": note.text},
        policy=(policy,),
        change=change,
        response=lambda event_id: {"event_id": event_id},
        replay=replay,
        events=lambda event_id: [(Topic.BALANCE_CHANGED, {"runner_test_event": event_id})],
        refusals=(Refused,),
    )


async def rows_for(text: str) -> int:
    async with connection() as conn:
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM outbox_event WHERE payload->>'runner_test' = $1", text
            )
        )


async def keys_of(principal: str) -> int:
    async with connection() as conn:
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM idempotency_key WHERE principal = $1", principal
            )
        )


async def test_a_repeated_key_replays_the_first_result_and_changes_nothing() -> None:
    calls, actor = Calls(), Actor.user(10_001)
    command = note_command(calls)
    first = await run(command, actor, Note("a"), "key-1")
    again = await run(command, actor, Note("a"), "key-1")
    assert first == again
    assert calls.change == 1
    assert await rows_for("a") == 1


async def test_the_same_key_for_a_different_request_is_a_conflict() -> None:
    command, actor = note_command(Calls()), Actor.user(10_002)
    await run(command, actor, Note("b"), "key-1")
    with pytest.raises(IdempotencyConflict):
        await run(command, actor, Note("c"), "key-1")
    assert await rows_for("c") == 0


async def test_keys_are_scoped_to_the_actor() -> None:
    calls = Calls()
    command = note_command(calls)
    await run(command, Actor.user(10_003), Note("d"), "shared")
    await run(command, Actor.user(10_004), Note("d"), "shared")
    assert calls.change == 2


async def test_a_policy_refusal_runs_no_change_and_keeps_the_key_free() -> None:
    calls, actor = Calls(), Actor.user(10_005)
    command = note_command(calls)
    with pytest.raises(Refused):
        await run(command, actor, Note("e", refuse=True), "key-1")
    assert (calls.policy, calls.change) == (1, 0)
    assert await rows_for("e") == 0
    assert await keys_of(actor.principal) == 0
    # The key was not used up: a retry is judged anew.
    await run(command, actor, Note("e"), "key-1")
    assert await rows_for("e") == 1


async def test_a_bad_key_is_refused_before_the_transaction() -> None:
    calls = Calls()
    with pytest.raises(InvalidIdempotencyKey):
        await run(note_command(calls), Actor.user(10_006), Note("f"), "")
    assert calls.policy == 0


async def test_the_commands_events_are_written_with_it() -> None:
    event_id = await run(note_command(Calls()), Actor.user(10_007), Note("g"), "k")
    async with connection() as conn:
        found = await conn.fetchval(
            "SELECT count(*) FROM outbox_event WHERE (payload->>'runner_test_event')::bigint = $1",
            event_id,
        )
    assert found == 1


async def test_concurrent_duplicates_execute_exactly_once() -> None:
    calls, actor = Calls(), Actor.user(10_008)
    command = note_command(calls)
    results = await asyncio.gather(*(run(command, actor, Note("h"), "same") for _ in range(12)))
    assert len(set(results)) == 1
    assert calls.change == 1
    assert await rows_for("h") == 1


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(st.tuples(st.sampled_from("kKx"), st.sampled_from("pq")), min_size=1, max_size=8))
async def test_each_key_executes_once_whatever_the_order_of_retries(
    attempts: list[tuple[str, str]],
) -> None:
    calls, actor = Calls(), Actor.user(20_000 + len(attempts))
    command = note_command(calls)
    run_id = uuid.uuid4().hex
    first_text: dict[str, str] = {}
    conflicts = 0
    for key, text in attempts:
        try:
            await run(command, actor, Note(run_id + text), run_id + key)
        except IdempotencyConflict:
            conflicts += 1
            assert first_text[key] != text
        else:
            assert first_text.setdefault(key, text) == text
    assert calls.change == len(first_text)
    assert conflicts == sum(1 for key, text in attempts if first_text[key] != text)


# The rules of money requests live in the service: a caller without GraphQL meets them.


async def test_request_money_refuses_an_expiry_beyond_the_maximum() -> None:
    requester, payer = await make_user(), await make_user()
    command = requests.RequestMoney(
        payer.username, Money(500, Currency.USD), "", expires_in_days=31, max_days=30
    )
    with pytest.raises(RequestExpiryOutOfRange):
        await requests.request_money(Actor.user(requester.id), command, "k1")
    assert await requests.requests_of(requester.id, None) == []
    within = requests.RequestMoney(
        payer.username, Money(500, Currency.USD), "", expires_in_days=30, max_days=30
    )
    created = await requests.request_money(Actor.user(requester.id), within, "k1")
    assert created.status == "open"


async def test_paying_a_large_request_needs_step_up_before_anything_moves() -> None:
    requester, payer = await make_user(), await make_user(balance="900.00")
    asked = await requests.request_money(
        Actor.user(requester.id),
        requests.RequestMoney(payer.username, Money(60_000, Currency.USD), "rent"),
        "ask",
    )
    with pytest.raises(StepUpRequired):
        await requests.pay_request(Actor.user(payer.id), asked.id, "pay")
    assert await wallet_cents(payer.id) == 90_000
    assert await wallet_cents(requester.id) == 0
    found = await requests.get_request(payer.id, asked.id)
    assert found is not None and found.status == "open"


async def test_step_up_is_asked_before_the_funds_are_checked() -> None:
    """Policy comes before the change: with too little money and no proof, the answer is
    StepUpRequired (the funds check inside the transfer never ran)."""
    requester, payer = await make_user(), await make_user(balance="10.00")
    asked = await requests.request_money(
        Actor.user(requester.id),
        requests.RequestMoney(payer.username, Money(60_000, Currency.USD), "rent"),
        "ask",
    )
    with pytest.raises(StepUpRequired):
        await requests.pay_request(Actor.user(payer.id), asked.id, "pay")


async def test_a_small_request_is_paid_by_a_service_caller_once() -> None:
    requester, payer = await make_user(), await make_user(balance="50.00")
    asked = await requests.request_money(
        Actor.user(requester.id),
        requests.RequestMoney(payer.username, Money(1_250, Currency.USD), "pizza"),
        "ask",
    )
    paid = await requests.pay_request(Actor.user(payer.id), asked.id, "pay")
    again = await requests.pay_request(Actor.user(payer.id), asked.id, "pay")
    assert paid.status == again.status == "paid"
    assert await wallet_cents(payer.id) == 5_000 - 1_250
    assert await wallet_cents(requester.id) == 1_250


async def test_a_command_chosen_to_break_a_deadlock_runs_again_whole() -> None:
    """PostgreSQL breaks a deadlock by rolling one transaction back (CI saw a currency
    conversion lose one to a batch of sends). The runner runs that command again, whole:
    it completes, once, and its key holds one result."""
    attempts = 0

    async def change(conn: Connection, actor: Actor, note: Note) -> int:
        nonlocal attempts
        attempts += 1
        await conn.execute("SELECT pg_advisory_xact_lock(915001)")
        await conn.execute("SELECT pg_advisory_xact_lock(915002)")
        return attempts

    command = Command[Note, int](
        name="runnerTestDeadlock",
        fingerprint=lambda note: {"text": note.text},
        change=change,
        response=lambda n: {"n": n},
        replay=lambda conn, actor, note, stored: _stored_n(stored),
        refusals=(),
    )
    actor = Actor.user(10_009)
    async with connection() as other, other.transaction():
        await other.execute("SELECT pg_advisory_xact_lock(915002)")
        running = asyncio.create_task(run(command, actor, Note("deadlock"), "k-deadlock"))
        # The command holds the first lock and waits for the second; this one now waits
        # for the first: a deadlock. The command waited first, so its check finds it.
        while not await other.fetchval(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 915002 "
            "AND NOT granted"
        ):
            await asyncio.sleep(0.05)
        await other.execute("SELECT pg_advisory_xact_lock(915001)")
    assert await running == 2
    assert await keys_of(actor.principal) == 1


async def _stored_n(stored: dict[str, Any]) -> int:
    return int(stored["n"])
