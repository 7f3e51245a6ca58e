"""What every GraphQL request costs the server, beyond its resolvers (issue 15)."""

import time
from typing import Any

import pytest
from anyio import create_task_group
from litestar import concurrency
from litestar._kwargs import kwargs_model
from redis.asyncio.connection import Connection as RedisConnection

from tests.conftest import LiveServer
from tests.factories import make_user
from tests.graphql_client import ME, gql, send, token_for
from wallet.api.graphql import context
from wallet.api.graphql.context import Context
from wallet.api.state import Services
from wallet.auth.sessions import Session
from wallet.security.policy import Factor, Proof


async def test_a_graphql_request_runs_on_the_loop_without_a_thread_hop(
    live_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Strawberry's controller made each request's response in a worker thread; under
    load every hop also waited for the GIL. None is made now, for a viewer's query or a
    trivial one, and its dependencies resolve one after another, with no tasks."""
    user = await make_user()
    token = await token_for(live_server, user)
    hops: list[object] = []
    run_sync = concurrency._run_sync_asyncio

    async def counted(fn: Any, *args: Any, **kwargs: Any) -> Any:
        hops.append(fn)
        return await run_sync(fn, *args, **kwargs)

    def task_group() -> Any:
        groups.append(object())
        return create_task_group()

    groups: list[object] = []
    monkeypatch.setattr(concurrency, "_run_sync_asyncio", counted)
    monkeypatch.setattr(kwargs_model, "create_task_group", task_group)
    async with live_server.client() as http:
        me = await gql(http, ME, token=token)
        trivial = await gql(http, "{ __typename }")
    assert me["data"]["me"]["username"] == user.username
    assert trivial["data"] == {"__typename": "Query"}
    assert hops == []
    # Nor does Litestar start a task group (a task per sibling dependency) for it.
    assert groups == []


async def test_a_send_reads_its_session_and_proofs_in_one_redis_round_trip_and_no_user_row(
    live_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`sendMoney` used to read the session, then the step-up proofs (a second Redis
    round trip), then the sender's user row (a database read) before its batch, and the
    audit read it again. The session names the sender and the batch locks their wallet,
    so a send now makes two Redis round trips in all (session with proofs, the rate
    limit) and reads no user row."""
    sender, recipient = await make_user(balance="10.00"), await make_user()
    token = await token_for(live_server, sender)
    await send(live_server, token, f"@{recipient.username}", "0.01")  # warms the scripts
    writes: list[object] = []
    users_read: list[int] = []
    packed = RedisConnection.send_packed_command
    read_user = context.get_user

    async def counted(self: RedisConnection, command: Any, check_health: bool = True) -> None:
        writes.append(command)
        await packed(self, command, check_health)

    async def user_read(user_id: int) -> Any:
        users_read.append(user_id)
        return await read_user(user_id)

    monkeypatch.setattr(RedisConnection, "send_packed_command", counted)
    monkeypatch.setattr(context, "get_user", user_read)
    sent = await send(live_server, token, f"@{recipient.username}", "1.25")
    monkeypatch.undo()
    assert sent["__typename"] == "SendMoneyPayload", sent
    assert sent["transfer"]["amount"] == "1.25"
    assert len(writes) == 2, writes
    assert users_read == []
    me = await _me(live_server, token)
    assert me["wallet"]["balances"][0]["available"] == "8.74"


async def _me(live: LiveServer, token: str) -> dict[str, Any]:
    async with live.client() as http:
        return (await gql(http, ME, token=token))["data"]  # type: ignore[no-any-return]


async def test_proofs_read_with_the_session_count_only_while_fresh(services: Services) -> None:
    """The proofs come with the session, once per context; a WebSocket's context lives
    as long as its connection, so a proof that was fresh when read stops counting once
    it is older than the step-up window."""
    now = time.time()
    window = services.step_up.seconds
    context = Context(services=services)
    context.session_loaded = True
    context.viewer_session = Session(1, now - 3600, now + 3600)
    context.proofs_cache = (
        Proof(Factor.PIN, now - 1, pre_session=True),
        Proof(Factor.TOTP, now - window - 1, pre_session=True),
    )
    state = await context.session_state()
    assert [p.factor for p in state.proofs] == [Factor.PIN]
    context.viewer_session = None
    assert (await context.session_state()).proofs == ()
