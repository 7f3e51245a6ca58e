"""What every GraphQL request costs the server, beyond its resolvers (issue 15)."""

from typing import Any

import pytest
from litestar import concurrency

from tests.conftest import LiveServer
from tests.factories import make_user
from tests.graphql_client import ME, gql, token_for


async def test_a_graphql_request_runs_on_the_loop_without_a_thread_hop(
    live_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Strawberry's controller made each request's response in a worker thread; under
    load every hop also waited for the GIL. None is made now, for a viewer's query or a
    trivial one."""
    user = await make_user()
    token = await token_for(live_server, user)
    hops: list[object] = []
    run_sync = concurrency._run_sync_asyncio

    async def counted(fn: Any, *args: Any, **kwargs: Any) -> Any:
        hops.append(fn)
        return await run_sync(fn, *args, **kwargs)

    monkeypatch.setattr(concurrency, "_run_sync_asyncio", counted)
    async with live_server.client() as http:
        me = await gql(http, ME, token=token)
        trivial = await gql(http, "{ __typename }")
    assert me["data"]["me"]["username"] == user.username
    assert trivial["data"] == {"__typename": "Query"}
    assert hops == []
