"""The review of a send (issue 19): what it would do, or the refusal the send would get,
with nothing written."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import LiveServer
from tests.factories import make_user
from tests.graphql_client import call, send, token_for
from tests.ledger_helpers import wallet_cents
from wallet.db.engine import connection

pytestmark = pytest.mark.usefixtures("assert_ledger_sound")

PREVIEW = """query($input: SendPreviewInput!) { sendPreview(input: $input) { __typename
  ... on SendPreview { recipient username amount currency fee receives receivesCurrency rate
                       arrives balanceAfter }
  ... on UserError { code message } ... on InsufficientFunds { available }
  ... on LimitExceeded { limit remaining } ... on ValidationError { fieldErrors { field code } }
} }"""
QUOTE = """mutation($a: String!) { fxQuote(input: {sell: "USD", buy: "EUR", amount: $a}) {
  ... on FxQuotePayload { quote { id buyAmount } } } }"""


async def preview(live: LiveServer, token: str, **fields: Any) -> dict[str, Any]:
    return await call(live, token, PREVIEW, {"input": fields})


async def counts() -> tuple[int, int]:
    async with connection() as conn:
        row = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM money_transaction), (SELECT count(*) FROM outbox_event)"
        )
    return int(row[0]), int(row[1])


async def test_a_review_says_who_what_when_and_the_balance_after(live_server: LiveServer) -> None:
    ann, bob = await make_user(balance="50.00"), await make_user()
    token = await token_for(live_server, ann)
    before = await counts()
    review = await preview(live_server, token, recipient=f"@{bob.username}", amount="12.50")
    assert review == {
        "__typename": "SendPreview",
        "recipient": f"@{bob.username}",
        "username": bob.username,
        "amount": "12.50",
        "currency": "USD",
        "fee": "0.00",
        "receives": "12.50",
        "receivesCurrency": "USD",
        "rate": None,
        "arrives": "Instantly",
        "balanceAfter": "37.50",
    }
    # A phone number is not looked up: the review says both ways it can arrive.
    by_phone = await preview(live_server, token, recipient="+1 415 555 0199", amount="1.00")
    assert by_phone["recipient"] == "+14155550199" and by_phone["username"] is None
    assert by_phone["arrives"].startswith("Instantly if they have a wallet; if not, they get")
    assert await counts() == before  # a review writes nothing
    assert await wallet_cents(ann.id) == 5000
    # And the send does what the review said.
    assert (await send(live_server, token, bob.username, "12.50"))["transfer"]
    assert await wallet_cents(ann.id) == 3750


async def test_a_review_gets_the_refusal_the_send_would_get(live_server: LiveServer) -> None:
    ann, bob = await make_user(balance="5.00"), await make_user()
    token = await token_for(live_server, ann)
    short = await preview(live_server, token, recipient=bob.username, amount="9.00")
    assert (short["__typename"], short["available"]) == ("InsufficientFunds", "5.00")
    sent = await send(live_server, token, bob.username, "9.00")
    assert (sent["__typename"], sent["message"]) == ("InsufficientFunds", short["message"])
    nobody = await preview(live_server, token, recipient="@no_such_person", amount="1.00")
    assert nobody["__typename"] == "NotFound"
    to_self = await preview(live_server, token, recipient=ann.username, amount="1.00")
    assert to_self["__typename"] == "ValidationError"
    over = await preview(live_server, token, recipient=bob.username, amount="1001.00")
    assert over["__typename"] in ("LimitExceeded", "InsufficientFunds")
    zero = await preview(live_server, token, recipient=bob.username, amount="0")
    assert zero["fieldErrors"] == [{"field": "amount", "code": "INVALID"}]
    async with connection() as conn:
        await conn.execute("UPDATE wallet SET status = 'frozen' WHERE user_id = $1", ann.id)
    frozen = await preview(live_server, token, recipient=bob.username, amount="1.00")
    assert frozen["code"] == "WALLET_UNAVAILABLE"


async def test_a_cross_currency_review_shows_the_rate_and_what_arrives(
    live_server: LiveServer,
) -> None:
    ann, bob = await make_user(balance="100.00"), await make_user()
    token = await token_for(live_server, ann)
    quote = (await call(live_server, token, QUOTE, {"a": "20.00"}))["quote"]
    review = await preview(
        live_server, token, recipient=bob.username, amount="20.00", quoteId=quote["id"]
    )
    assert (review["receives"], review["receivesCurrency"]) == (quote["buyAmount"], "EUR")
    rate = review["rate"]
    assert len(rate.replace(".", "").lstrip("0")) <= 6  # six significant digits at most
    assert 0.5 < float(rate) < 1.5
    unknown = await preview(
        live_server, token, recipient=bob.username, amount="20.00", quoteId="fxq_nothing"
    )
    assert unknown["__typename"] == "NotFound"
    anonymous = await call(live_server, None, PREVIEW, {"input": {"recipient": "x", "amount": "1"}})
    assert anonymous["__typename"] == "NotAuthenticated"
