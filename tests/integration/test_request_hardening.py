"""Cross-site and abusive requests: only JSON POSTs run mutations; aliased and batched
operations are refused."""

import json

from tests.conftest import LiveServer, run_live_server
from tests.factories import make_user
from tests.graphql_client import ME, gql, send, token_for
from tests.ledger_helpers import wallet_cents
from wallet.config import Settings

LOG_OUT = "mutation { logOut { __typename } }"


async def still_logged_in(live: LiveServer, token: str) -> bool:
    async with live.client() as http:
        answer = await gql(http, ME, token=token)
    return answer["data"]["me"] is not None


async def test_a_cross_site_form_post_cannot_run_a_mutation(live_server: LiveServer) -> None:
    user = await make_user()
    token = await token_for(live_server, user)
    headers = {"authorization": f"Bearer {token}"}
    async with live_server.client() as http:
        # What a form on another site can send without a preflight: urlencoded,
        # multipart or text/plain bodies.
        form = await http.post("/graphql", data={"query": LOG_OUT}, headers=headers)
        multipart = await http.post("/graphql", files={"query": (None, LOG_OUT)}, headers=headers)
        plain = await http.post(
            "/graphql",
            content=json.dumps({"query": LOG_OUT}),
            headers={**headers, "content-type": "text/plain"},
        )
    for response in (form, multipart, plain):
        assert response.status_code in (400, 415), (response.status_code, response.text)
        assert "logOut" not in response.text
    assert await still_logged_in(live_server, token)


async def test_many_aliases_and_batched_operations_are_refused(live_server: LiveServer) -> None:
    user = await make_user()
    token = await token_for(live_server, user)
    aliased = "{ " + " ".join(f"a{i}: me {{ username }}" for i in range(20)) + " }"
    async with live_server.client() as http:
        answer = await gql(http, aliased, token=token)
        batched = await http.post(
            "/graphql",
            json=[{"query": "{ me { username } }"}] * 50,
            headers={"authorization": f"Bearer {token}"},
        )
    assert answer.get("data") is None and "aliases" in answer["errors"][0]["message"].lower()
    assert batched.status_code == 400


async def test_money_commands_are_rate_limited_per_user(settings: Settings) -> None:
    alice, bob = await make_user(balance="10.00"), await make_user()
    async with run_live_server(
        settings.replace(throttle={"money_mutations_per_minute": 3})
    ) as live:
        token = await token_for(live, alice)
        answers = [await send(live, token, bob.username, "1.00") for _ in range(4)]
        other = await token_for(live, bob)
        bobs = await send(live, other, alice.username, "0.50")  # another user is not slowed
    assert [a["__typename"] for a in answers] == ["SendMoneyPayload"] * 3 + ["RateLimited"]
    assert answers[3]["code"] == "RATE_LIMITED"
    assert bobs["__typename"] == "SendMoneyPayload"
    assert await wallet_cents(alice.id) == 1_000 - 300 + 50
