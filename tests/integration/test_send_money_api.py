"""`sendMoney` over GraphQL: exactly once, typed refusals that write nothing, invariants."""

import asyncio
import random

import pytest

from tests.conftest import LiveServer
from tests.factories import make_user
from tests.graphql_client import SEND, call, gql, send, token_for
from wallet.checks import check_all
from wallet.config import get_settings
from wallet.db.engine import connection

SET_PIN = "mutation($pin: String!) { setTransactionPin(pin: $pin) { __typename } }"
STEP_UP = """mutation($method: StepUpMethod!, $code: String!) {
  verifyStepUp(method: $method, code: $code) { __typename } }"""


async def wallet_minor(user_id: int) -> int:
    async with connection() as conn:
        return int(
            await conn.fetchval(
                "SELECT posted_credits - posted_debits FROM ledger_account "
                "WHERE owner_type = 'user' AND owner_id = $1 AND currency = 'USD'",
                user_id,
            )
        )


async def movement_counts() -> tuple[int, int, int]:
    async with connection() as conn:
        row = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM money_transaction), (SELECT count(*) FROM journal_entry"
            " WHERE kind = 'p2p'), (SELECT count(*) FROM idempotency_key)"
        )
    return tuple(row)  # type: ignore[return-value]


async def test_send_moves_money_records_the_transaction_and_notifies_both(
    live_server: LiveServer,
) -> None:
    alice, bob = await make_user(balance="100.00"), await make_user()
    token = await token_for(live_server, alice)
    result = await send(live_server, token, bob.phone, "12.34", note="lunch 🍜")
    assert result["__typename"] == "SendMoneyPayload"
    transfer = result["transfer"]
    assert (
        transfer["status"],
        transfer["amount"],
        transfer["currency"],
        transfer["note"],
        transfer["recipientUsername"],
    ) == ("COMPLETED", "12.34", "USD", "lunch 🍜", bob.username)
    assert (await wallet_minor(alice.id), await wallet_minor(bob.id)) == (8766, 1234)
    async with connection() as conn:
        transitions = await conn.fetch(
            "SELECT from_status, to_status FROM transaction_transition WHERE transaction_id = $1"
            " ORDER BY id",
            int(transfer["id"]),
        )
        assert [tuple(t) for t in transitions] == [(None, "initiated"), ("initiated", "completed")]
        notified = await conn.fetch(
            "SELECT (payload->>'user_id')::bigint AS u FROM outbox_event WHERE topic ="
            " 'balance.changed' AND (payload->>'transaction_id')::bigint = $1",
            int(transfer["id"]),
        )
        assert {r["u"] for r in notified} == {alice.id, bob.id}
        assert await check_all(conn) == []


@pytest.mark.parametrize("how", ["email", "username", "@username"])
async def test_recipient_can_be_named_by_email_or_username(
    live_server: LiveServer, how: str
) -> None:
    alice, bob = await make_user(balance="10.00"), await make_user()
    recipient = {
        "email": bob.email.upper(),
        "username": bob.username,
        "@username": "@" + bob.username,
    }[how]
    result = await send(live_server, await token_for(live_server, alice), recipient, "1.00")
    assert result["transfer"]["recipientUsername"] == bob.username


async def test_replaying_a_key_returns_the_original_result_without_moving_money(
    live_server: LiveServer,
) -> None:
    alice, bob = await make_user(balance="50.00"), await make_user()
    token = await token_for(live_server, alice)
    first = await send(live_server, token, bob.username, "5.00", key="k-1")
    again = await send(live_server, token, bob.username, "5.00", key="k-1")
    assert again == first
    assert await wallet_minor(alice.id) == 4500
    assert await movement_counts() == (2, 1, 1)  # the credit grant, one send; one key


async def test_same_key_with_a_different_request_is_a_conflict(live_server: LiveServer) -> None:
    alice, bob = await make_user(balance="50.00"), await make_user()
    token = await token_for(live_server, alice)
    await send(live_server, token, bob.username, "5.00", key="k-2")
    conflict = await send(live_server, token, bob.username, "6.00", key="k-2")
    assert (conflict["__typename"], conflict["code"]) == (
        "IdempotencyConflict",
        "IDEMPOTENCY_CONFLICT",
    )
    assert await wallet_minor(alice.id) == 4500


async def test_keys_are_scoped_to_the_sender(live_server: LiveServer) -> None:
    alice, carol, bob = (
        await make_user(balance="10.00"),
        await make_user(balance="10.00"),
        await make_user(),
    )
    for sender in (alice, carol):
        result = await send(
            live_server,
            await token_for(live_server, sender),
            bob.username,
            "1.00",
            key="shared-key",
        )
        assert result["__typename"] == "SendMoneyPayload"
    assert await wallet_minor(bob.id) == 200


async def test_twenty_concurrent_duplicates_move_money_exactly_once(
    live_server: LiveServer,
) -> None:
    alice, bob = await make_user(balance="50.00"), await make_user()
    token = await token_for(live_server, alice)
    results = await asyncio.gather(
        *(send(live_server, token, bob.username, "7.50", key="dup-key") for _ in range(20))
    )
    assert {r["transfer"]["id"] for r in results} == {results[0]["transfer"]["id"]}
    assert (await wallet_minor(alice.id), await wallet_minor(bob.id)) == (4250, 750)
    assert (await movement_counts())[1] == 1


@pytest.mark.parametrize(
    ("amount", "extra", "kind", "field"),
    [
        ("0", {}, "ValidationError", "amount"),
        ("-5.00", {}, "ValidationError", "amount"),
        ("1.001", {}, "ValidationError", "amount"),
        ("abc", {}, "ValidationError", "amount"),
        ("1.00", {"currency": "XYZ"}, "ValidationError", "currency"),
        ("1.00", {"note": "x" * 281}, "ValidationError", "note"),
        ("1.00", {"idempotencyKey": ""}, "ValidationError", "idempotencyKey"),
        ("1.00", {"recipient": "no such thing!"}, "ValidationError", "recipient"),
        ("1.00", {"recipient": "ghost_user"}, "NotFound", None),
        ("1.00", {"recipient": "SELF"}, "ValidationError", "recipient"),
        ("60.00", {}, "InsufficientFunds", None),
        ("1000.01", {}, "LimitExceeded", None),
    ],
)
async def test_bad_input_is_a_typed_error_and_writes_nothing(
    live_server: LiveServer,
    amount: str,
    extra: dict,
    kind: str,
    field: str | None,  # type: ignore[type-arg]
) -> None:
    alice, bob = await make_user(balance="50.00"), await make_user()
    token = await token_for(live_server, alice)
    if extra.get("recipient") == "SELF":
        extra = {**extra, "recipient": alice.username}
    extra.setdefault("recipient", bob.username)
    recipient = extra.pop("recipient")
    before = await movement_counts()
    result = await send(live_server, token, recipient, amount, **extra)
    assert result["__typename"] == kind, result
    if field:
        assert [e["field"] for e in result["fieldErrors"]] == [field]
    assert await movement_counts() == before
    assert (await wallet_minor(alice.id), await wallet_minor(bob.id)) == (5000, 0)


async def test_insufficient_funds_says_what_is_available(live_server: LiveServer) -> None:
    alice, bob = await make_user(balance="3.21"), await make_user()
    result = await send(live_server, await token_for(live_server, alice), bob.username, "3.22")
    assert (result["code"], result["available"]) == ("INSUFFICIENT_FUNDS", "3.21")


async def test_daily_limit_counts_earlier_sends_and_says_what_remains(
    live_server: LiveServer,
) -> None:
    alice, bob = await make_user(balance="3000.00", pin="2468"), await make_user()
    token = await token_for(live_server, alice)
    # Sends this large need a fresh second factor (docs/security.md).
    step_up = await call(live_server, token, STEP_UP, {"method": "PIN", "code": "2468"})
    assert step_up["__typename"] == "StepUpPayload"
    for _ in range(2):
        assert (await send(live_server, token, bob.username, "1000.00"))[
            "__typename"
        ] == "SendMoneyPayload"
    result = await send(live_server, token, bob.username, "600.00")
    assert (result["__typename"], result["limit"], result["maximum"], result["remaining"]) == (
        "LimitExceeded",
        "DAILY",
        "2500.00",
        "500.00",
    )
    assert (await send(live_server, token, bob.username, "500.00"))[
        "__typename"
    ] == "SendMoneyPayload"


@pytest.mark.parametrize(
    ("frozen", "status"), [("sender", "frozen"), ("recipient", "closed"), ("recipient", "frozen")]
)
async def test_frozen_or_closed_wallets_are_refused(
    live_server: LiveServer, frozen: str, status: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Frozen wallets receive by default (docs/aml.md); this deployment says they do not.
    monkeypatch.setenv("WALLET_FROZEN_CAN_RECEIVE", "false")
    get_settings.cache_clear()
    alice, bob = await make_user(balance="10.00"), await make_user()
    target = alice if frozen == "sender" else bob
    async with connection() as conn:
        await conn.execute("UPDATE wallet SET status = $2 WHERE user_id = $1", target.id, status)
    result = await send(live_server, await token_for(live_server, alice), bob.username, "1.00")
    assert (result["__typename"], result["code"]) == ("WalletUnavailable", "WALLET_UNAVAILABLE")
    assert (await wallet_minor(alice.id), await wallet_minor(bob.id)) == (1000, 0)


async def test_anonymous_send_is_refused(live_server: LiveServer) -> None:
    bob = await make_user()
    async with live_server.client() as http:
        result = await gql(
            http,
            SEND,
            {"input": {"recipient": bob.username, "amount": "1.00", "idempotencyKey": "k"}},
        )
    assert result["data"]["sendMoney"]["__typename"] == "NotAuthenticated"


async def test_concurrent_clients_conserve_money_and_keep_the_ledger_sound(
    live_server: LiveServer,
) -> None:
    """24 concurrent clients, 240 random sends (some retried with the same key)."""
    users = [await make_user(balance="40.00") for _ in range(8)]
    tokens = {u.id: await token_for(live_server, u) for u in users}
    rng = random.Random(11)
    acknowledged: dict[str, dict] = {}  # type: ignore[type-arg]

    async def client(n: int) -> None:
        for i in range(10):
            sender, recipient = rng.sample(users, 2)
            key = f"c{n}-{i}"
            args = (
                live_server,
                tokens[sender.id],
                recipient.username,
                f"{rng.randint(1, 1500) / 100:.2f}",
            )
            result = await send(*args, key=key)
            if rng.random() < 0.2:
                retry = await send(*args, key=key)
                if result["__typename"] == "SendMoneyPayload":
                    assert retry == result  # replayed, not moved again
                else:
                    result = retry  # refusals write nothing, so a retry is evaluated anew
            if result["__typename"] == "SendMoneyPayload":
                acknowledged[f"{sender.id}:{key}"] = result["transfer"]
            else:
                assert result["__typename"] == "InsufficientFunds"

    await asyncio.gather(*(client(n) for n in range(24)))
    balances = [await wallet_minor(u.id) for u in users]
    assert sum(balances) == 8 * 4000 and min(balances) >= 0
    async with connection() as conn:
        ids = {int(t["id"]) for t in acknowledged.values()}
        stored = await conn.fetchval(
            "SELECT count(*) FROM money_transaction WHERE type = 'send' AND id = ANY($1::bigint[])",
            list(ids),
        )
        assert stored == len(ids) == len(acknowledged)
        assert await conn.fetchval("SELECT count(*) FROM journal_entry WHERE kind = 'p2p'") == len(
            ids
        )
        assert await check_all(conn) == []
