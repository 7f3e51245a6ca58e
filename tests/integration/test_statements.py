"""Statements add up and can be verified (issue 18, item 2).

The tester's cases: an ACH top-up that settles after a later send carried the balance
of its settlement at its start time, and the PDF's EUR section had no rows because a
conversion's credit was missing. CSV, PDF and the activity feed now follow the ledger's
positions, and `verifyStatement` checks a statement someone holds against the ledger.
"""

from __future__ import annotations

import uuid
from calendar import monthrange
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from redis.asyncio import Redis

from tests.conftest import LiveServer
from tests.factories import make_user
from tests.graphql_client import add_bank, call, fund, send, token_for
from tests.integration.test_exports import download, generate_statement_bytes
from tests.statement_helpers import (
    ACTIVITY,
    VERIFY,
    csv_rows,
    csv_statements,
    pdf_sections,
    running_balances_add_up,
    section_adds_up,
)
from wallet.db.engine import connection
from wallet.gateway.sandbox import SandboxGateway
from wallet.payments import funding

pytestmark = pytest.mark.usefixtures("assert_ledger_sound")

QUOTE = """mutation($input: FxQuoteInput!) { fxQuote(input: $input) {
  __typename ... on FxQuotePayload { quote { id buyAmount } } } }"""
CONVERT = """mutation($input: ConvertInput!) { convert(input: $input) {
  __typename ... on ConvertPayload { conversion { bought } } } }"""


async def settle_due_ach(live: LiveServer) -> list[str]:
    """Run the sandbox gateway's clock past any ACH settlement and deliver the callbacks."""
    gateway = SandboxGateway(
        Redis.from_url(live.settings.redis_url or ""),
        day_seconds=live.settings.sandbox.day_seconds,
    )
    await gateway.advance(3.1)
    return await funding.deliver_sandbox_events(gateway, live.settings.gateway.webhook_secret)


async def convert(live: LiveServer, token: str, sell: str, buy: str, amount: str) -> str:
    offered = await call(
        live,
        token,
        QUOTE,
        {"input": {"sell": sell, "buy": buy, "amount": amount, "fixedSide": "SELL"}},
    )
    # More than the balance is refused at quote time (nothing moves).
    assert offered["__typename"] == "FxQuotePayload", offered
    done = await call(
        live,
        token,
        CONVERT,
        {"input": {"quoteId": offered["quote"]["id"], "idempotencyKey": uuid.uuid4().hex}},
    )
    assert done["__typename"] == "ConvertPayload", done
    return str(done["conversion"]["bought"])


async def test_running_balances_add_up_when_an_ach_top_up_settles_after_a_later_send(
    live_server: LiveServer,
) -> None:
    ann, ben = await make_user(balance="275.00"), await make_user()
    token = await token_for(live_server, ann)
    bank = await add_bank(live_server, token)
    top_up = (await fund(live_server, token, bank, "40.00"))["transaction"]
    assert top_up["status"] == "PENDING"
    await send(live_server, token, ben.username, "12.34")
    today = datetime.now(UTC).date()
    assert await settle_due_ach(live_server) == ["applied", "duplicate"]
    _, _, body = await download(
        live_server, f"/export/transactions.csv?from={today}&to={today}", token
    )
    rows = csv_rows(body.decode())
    # The regression: the top-up carried its settlement balance at its start time.
    assert running_balances_add_up(rows) == []
    usd = csv_statements(body.decode())["USD"]
    assert (usd.opening, usd.closing) == ("0.00", "302.66")
    assert [(p["amount"], p["running_balance"], p["type"]) for p in usd.postings] == [
        ("275.00", "275.00", "promotional_credit"),
        ("-12.34", "262.66", "send"),
        ("40.00", "302.66", "add"),
    ]
    assert [int(p["position"]) for p in usd.postings] == [1, 2, 3] and usd.position == 3
    assert usd.pending == []
    assert usd.recomputed_digest() == usd.digest

    # The activity feed: newest first, in the order the money hit the balance.
    lines = [e["node"] for e in (await call(live_server, token, ACTIVITY, {"first": 10}))["edges"]]
    assert [(n["direction"], n["amount"], n["balanceAfter"], n["booked"]) for n in lines] == [
        ("IN", "40.00", "302.66", True),
        ("OUT", "12.34", "262.66", True),
        ("IN", "275.00", "275.00", True),
    ]
    assert lines[0]["transaction"]["id"] == top_up["id"]
    assert lines[1]["description"] == f"To @{ben.username}"

    # The statement verifies; with one amount changed it does not.
    verified = await call(live_server, token, VERIFY, usd.verify_input())
    assert verified["__typename"] == "StatementVerified", verified
    assert (verified["opening"], verified["closing"], verified["rows"]) == ("0.00", "302.66", 3)
    usd.postings[1]["amount"], usd.postings[1]["running_balance"] = "-2.34", "272.66"
    tampered = await call(live_server, token, VERIFY, usd.verify_input())
    assert (tampered["__typename"], tampered["code"]) == ("StatementMismatch", "STATEMENT_MISMATCH")
    # Nor does the digest printed on it vouch for the edited rows.
    assert usd.recomputed_digest() != usd.digest


async def test_pdf_lists_each_leg_of_a_conversion_in_its_own_currency(
    live_server: LiveServer,
) -> None:
    cleo = await make_user(balance="250.00")
    token = await token_for(live_server, cleo)
    assert await convert(live_server, token, "USD", "EUR", "100.00") == "91.57"
    await convert(live_server, token, "EUR", "USD", "45.79")

    sections = pdf_sections(await generate_statement_bytes(cleo.id))
    eur, usd = sections["EUR"], sections["USD"]
    # The regression: the EUR section had no rows but closed at the conversion's credit.
    assert eur.rows == [(Decimal("91.57"), Decimal("91.57")), (Decimal("-45.79"), Decimal("45.78"))]
    assert [amount for amount, _ in usd.rows][:2] == [Decimal("250.00"), Decimal("-100.00")]
    assert section_adds_up(eur) and section_adds_up(usd)
    assert "Converted from USD" in " ".join(eur.texts)
    # How to check it: the position and digest are printed with each section.
    async with connection() as conn:
        position = await conn.fetchval(
            "SELECT last_seq FROM ledger_account WHERE owner_type = 'user' AND owner_id = $1 "
            "AND currency = 'EUR'",
            cleo.id,
        )
    printed = " ".join(eur.texts)
    assert f"ledger position {position}" in printed
    digest = printed.split("SHA-256 digest ")[1][:64]
    month = datetime.now(UTC).date().replace(day=1)
    last = month.replace(day=monthrange(month.year, month.month)[1])
    checked = await call(
        live_server,
        token,
        VERIFY,
        {
            "input": {
                "currency": "EUR",
                "from": month.isoformat(),
                "to": last.isoformat(),
                "position": position,
                "digest": digest,
            }
        },
    )
    assert (checked["__typename"], checked["rows"], checked["closing"]) == (
        "StatementVerified",
        2,
        "45.78",
    )


async def test_a_top_up_still_waiting_is_listed_as_pending_outside_the_arithmetic(
    live_server: LiveServer,
) -> None:
    fay = await make_user(balance="20.00")
    token = await token_for(live_server, fay)
    bank = await add_bank(live_server, token)
    assert (await fund(live_server, token, bank, "40.00"))["transaction"]["status"] == "PENDING"
    today = datetime.now(UTC).date()
    _, _, body = await download(
        live_server, f"/export/transactions.csv?from={today}&to={today}", token
    )
    assert running_balances_add_up(csv_rows(body.decode())) == []
    usd = csv_statements(body.decode())["USD"]
    assert [(p["amount"], p["status"], p["running_balance"]) for p in usd.pending] == [
        ("40.00", "pending", "")
    ]
    assert (usd.opening, [p["amount"] for p in usd.postings], usd.closing) == (
        "0.00",
        ["20.00"],
        "20.00",
    )
    lines = [e["node"] for e in (await call(live_server, token, ACTIVITY, {"first": 10}))["edges"]]
    assert [(n["booked"], n["amount"], n["balanceAfter"]) for n in lines] == [
        (False, "40.00", None),
        (True, "20.00", "20.00"),
    ]
    assert lines[0]["transaction"]["status"] == "PENDING"


async def test_only_the_owner_verifies_and_bad_inputs_get_typed_errors(
    live_server: LiveServer,
) -> None:
    dana, eve = await make_user(balance="10.00"), await make_user(balance="10.00")
    token, eve_token = await token_for(live_server, dana), await token_for(live_server, eve)
    today = datetime.now(UTC).date()
    _, _, body = await download(
        live_server, f"/export/transactions.csv?from={today}&to={today}", token
    )
    usd = csv_statements(body.decode())["USD"]
    assert (await call(live_server, token, VERIFY, usd.verify_input()))[
        "__typename"
    ] == "StatementVerified"

    # Someone else's ledger does not make Dana's statement, and logged out nothing does.
    other = await call(live_server, eve_token, VERIFY, usd.verify_input())
    assert other["__typename"] == "StatementMismatch"
    assert (await call(live_server, None, VERIFY, usd.verify_input()))["code"] == (
        "NOT_AUTHENTICATED"
    )

    def changed(**fields: object) -> dict[str, object]:
        variables = usd.verify_input()
        variables["input"] = {**variables["input"], **fields}  # type: ignore[dict-item]
        return variables

    refusals = [
        (changed(digest="not-a-digest"), "digest"),
        (changed(position=99), "position"),
        (changed(to="2020-01-01"), "to"),
        (changed(currency="XXX"), "currency"),
    ]
    for variables, field in refusals:
        refused = await call(live_server, token, VERIFY, variables)
        assert refused["__typename"] == "ValidationError", refused
        assert refused["fieldErrors"][0]["field"] == field
    never = await call(live_server, token, VERIFY, changed(currency="JPY"))
    assert never["__typename"] == "NotFound"
    # A statement cut earlier stays verifiable after more money moves.
    await send(live_server, token, eve.username, "1.00")
    assert (await call(live_server, token, VERIFY, usd.verify_input()))[
        "__typename"
    ] == "StatementVerified"
