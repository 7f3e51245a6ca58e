"""Transaction history over GraphQL: keyset pages, running balances, filters, authorization."""

import uuid
from datetime import UTC, datetime, timedelta

from tests.conftest import LiveServer
from tests.factories import make_user
from tests.graphql_client import gql, send, token_for

HISTORY = """
query($first: Int!, $after: String, $filter: TransactionFilter) {
  transactions(first: $first, after: $after, filter: $filter) {
    edges { cursor node { id type status direction amount currency counterparty note
                          runningBalance history { fromStatus toStatus } } }
    pageInfo { hasNextPage endCursor }
  }
}"""
DETAIL = "query($id: ID!) { transaction(id: $id) { id amount counterparty } }"


async def history(
    live: LiveServer, token: str | None, first: int = 50, after: str | None = None, **filter: object
) -> dict:  # type: ignore[type-arg]
    async with live.client() as http:
        body = await gql(
            http, HISTORY, {"first": first, "after": after, "filter": filter or None}, token=token
        )
    assert "errors" not in body, body
    return body["data"]["transactions"]  # type: ignore[no-any-return]


async def test_pages_walk_every_transaction_once_newest_first_with_running_balances(
    live_server: LiveServer,
) -> None:
    alice, bob, carol = (
        await make_user(balance="100.00"),
        await make_user(),
        await make_user(balance="20.00"),
    )
    alice_token = await token_for(live_server, alice)
    for cents in ("1.00", "2.00", "3.00", "4.00"):
        await send(live_server, alice_token, bob.username, cents, note=f"n{cents}")
    await send(live_server, await token_for(live_server, carol), alice.username, "5.00")

    seen, after = [], None
    while True:
        page = await history(live_server, alice_token, first=2, after=after)
        seen += [e["node"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert [
        (n["type"], n["direction"], n["amount"], n["counterparty"], n["runningBalance"])
        for n in seen
    ] == [
        ("SEND", "IN", "5.00", carol.username, "95.00"),
        ("SEND", "OUT", "4.00", bob.username, "90.00"),
        ("SEND", "OUT", "3.00", bob.username, "94.00"),
        ("SEND", "OUT", "2.00", bob.username, "97.00"),
        ("SEND", "OUT", "1.00", bob.username, "99.00"),
        ("PROMOTIONAL_CREDIT", "IN", "100.00", None, "100.00"),
    ]
    assert len({n["id"] for n in seen}) == 6
    assert seen[1]["note"] == "n4.00"
    assert seen[1]["history"] == [
        {"fromStatus": None, "toStatus": "INITIATED"},
        {"fromStatus": "INITIATED", "toStatus": "COMPLETED"},
    ]


async def test_filters_by_type_counterparty_status_and_time(live_server: LiveServer) -> None:
    alice, bob, carol = await make_user(balance="50.00"), await make_user(), await make_user()
    token = await token_for(live_server, alice)
    await send(live_server, token, bob.username, "1.00")
    await send(live_server, token, carol.username, "2.00")

    def amounts(page: dict) -> list[str]:  # type: ignore[type-arg]
        return [e["node"]["amount"] for e in page["edges"]]

    assert amounts(await history(live_server, token, type="SEND")) == ["2.00", "1.00"]
    assert amounts(await history(live_server, token, counterparty="@" + bob.username.upper())) == [
        "1.00"
    ]
    assert amounts(await history(live_server, token, status="FAILED")) == []
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert amounts(await history(live_server, token, **{"from": future})) == []
    assert len(amounts(await history(live_server, token, to=future))) == 3


async def test_a_transaction_is_visible_only_to_its_parties(live_server: LiveServer) -> None:
    alice, bob, mallory = await make_user(balance="10.00"), await make_user(), await make_user()
    sent = await send(live_server, await token_for(live_server, alice), bob.username, "1.00")
    txn_id = sent["transfer"]["id"]
    async with live_server.client() as http:
        for who in (alice, bob):
            result = await gql(
                http, DETAIL, {"id": txn_id}, token=await token_for(live_server, who)
            )
            assert result["data"]["transaction"]["amount"] == "1.00"
        outsider = await gql(
            http, DETAIL, {"id": txn_id}, token=await token_for(live_server, mallory)
        )
        assert outsider["data"]["transaction"] is None
        anonymous = await gql(http, DETAIL, {"id": txn_id})
        assert anonymous["data"]["transaction"] is None
        assert (await gql(http, HISTORY, {"first": 5}))["data"]["transactions"] is None
        assert (
            await gql(
                http, DETAIL, {"id": "not-a-number"}, token=await token_for(live_server, alice)
            )
        )["data"]["transaction"] is None
    mallory_history = await history(live_server, await token_for(live_server, mallory))
    assert mallory_history["edges"] == []


async def test_unreadable_cursor_and_oversized_page_are_handled(live_server: LiveServer) -> None:
    alice = await make_user(balance="1.00")
    token = await token_for(live_server, alice)
    page = await history(live_server, token, first=10_000, after=uuid.uuid4().hex)
    assert len(page["edges"]) == 1 and page["pageInfo"]["hasNextPage"] is False
