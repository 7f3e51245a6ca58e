"""Financial statements over the API: the four GraphQL queries for operators (null for
everyone else, a typed error for a bad currency or period) and the CSV and PDF
downloads at /operator/books/ (401 without a session, 403 without the role)."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from tests.conftest import LiveServer
from tests.factories import make_user
from tests.graphql_client import call, gql, token_for
from tests.integration.test_financial_statements import TODAY, D, post_the_story
from wallet.db.engine import connection

pytestmark = pytest.mark.usefixtures("assert_ledger_sound")

AMOUNT = "{ amount minor }"
LINE = f"{{ code name accountType accounts debits {AMOUNT} credits {AMOUNT} balance {AMOUNT} }}"
SECTION = f"{{ lines {LINE} total {AMOUNT} }}"
INVALID = "... on ValidationError { code fieldErrors { field code } }"
TRIAL_BALANCE = f"""query($c: String!, $d: Date!) {{ trialBalance(currency: $c, asOf: $d) {{
  __typename ... on TrialBalance {{ currency asOf cutoff lines {LINE}
    totalDebits {AMOUNT} totalCredits {AMOUNT} balanced }} {INVALID} }} }}"""
BALANCE_SHEET = f"""query($c: String!, $d: Date!) {{ balanceSheet(currency: $c, asOf: $d) {{
  __typename ... on BalanceSheet {{ currency asOf assets {SECTION} liabilities {SECTION}
    equity {SECTION} retainedEarnings {AMOUNT} liabilitiesAndEquity {AMOUNT} balances }}
  {INVALID} }} }}"""
PROFIT_AND_LOSS = f"""query($c: String!, $f: Date!, $t: Date!) {{
  profitAndLoss(currency: $c, from: $f, to: $t) {{
  __typename ... on ProfitAndLoss {{ currency from to revenue {SECTION} expenses {SECTION}
    netIncome {AMOUNT} }} {INVALID} }} }}"""
CASH_FLOW = f"""query($c: String!, $f: Date!, $t: Date!) {{
  cashFlow(currency: $c, from: $f, to: $t) {{
  __typename ... on CashFlowStatement {{ currency from to opening {AMOUNT}
    lines {{ category name inflow {AMOUNT} outflow {AMOUNT} net {AMOUNT} }}
    totalInflow {AMOUNT} totalOutflow {AMOUNT} netChange {AMOUNT} closing {AMOUNT}
    reconciles }} {INVALID} }} }}"""


async def person(live: LiveServer, role: str | None = None) -> str:
    user = await make_user()
    if role:
        async with connection() as conn:
            await conn.execute(
                "UPDATE app_user SET operator_role = $2 WHERE id = $1", user.id, role
            )
    return await token_for(live, user)


def totals(section: dict[str, Any]) -> str:
    return str(section["total"]["amount"])


async def test_an_operator_reads_the_four_statements_to_the_cent(
    live_server: LiveServer, owner_database_url: str
) -> None:
    await post_the_story(owner_database_url)
    token = await person(live_server, "admin")
    usd, today, d3 = "USD", TODAY.isoformat(), D[3].isoformat()

    tb = await call(live_server, token, TRIAL_BALANCE, {"c": usd, "d": today})
    assert tb["__typename"] == "TrialBalance" and tb["balanced"]
    assert tb["totalDebits"] == tb["totalCredits"] == {"amount": "1656.00", "minor": "165600"}
    assert [
        (line["code"], line["accountType"], line["accounts"], line["balance"]["amount"])
        for line in tb["lines"]
    ] == [
        ("system:USD:gateway_clearing:sandbox", "ASSET", 1, "701.50"),
        ("user:*:USD:wallet", "LIABILITY", 3, "704.00"),
        ("merchant:*:USD:payable", "LIABILITY", 1, "0.00"),
        ("system:USD:fee_revenue", "REVENUE", 1, "2.50"),
        ("system:USD:promotional_funding", "EXPENSE", 1, "5.00"),
    ]

    now = await call(live_server, token, BALANCE_SHEET, {"c": usd, "d": today})
    then = await call(live_server, token, BALANCE_SHEET, {"c": usd, "d": d3})
    assert (totals(now["assets"]), totals(now["liabilities"]), totals(now["equity"])) == (
        "701.50",
        "704.00",
        "-2.50",
    )
    assert now["retainedEarnings"] == {"amount": "-2.50", "minor": "-250"}
    assert now["liabilitiesAndEquity"]["amount"] == "701.50" and now["balances"]
    assert (totals(then["assets"]), totals(then["liabilities"]), totals(then["equity"])) == (
        "1000.00",
        "1000.00",
        "0.00",
    )
    assert then["asOf"] == d3 and then["balances"]

    pnl = await call(
        live_server, token, PROFIT_AND_LOSS, {"c": usd, "f": D[4].isoformat(), "t": today}
    )
    assert (totals(pnl["revenue"]), totals(pnl["expenses"]), pnl["netIncome"]["amount"]) == (
        "2.50",
        "5.00",
        "-2.50",
    )
    assert [line["name"] for line in pnl["revenue"]["lines"]] == ["Fee revenue"]

    flow = await call(live_server, token, CASH_FLOW, {"c": usd, "f": D[2].isoformat(), "t": today})
    assert (flow["opening"]["amount"], flow["netChange"]["amount"], flow["closing"]["amount"]) == (
        "1000.00",
        "-298.50",
        "701.50",
    )
    assert flow["reconciles"]
    assert [
        (line["category"], line["inflow"]["amount"], line["outflow"]["amount"])
        for line in flow["lines"]
    ] == [
        ("CUSTOMER_FUNDS", "0.00", "201.00"),
        ("MERCHANTS", "0.00", "98.50"),
        ("FEES", "1.00", "0.00"),
        ("FX", "0.00", "0.00"),
        ("CHARGEBACKS", "0.00", "0.00"),
        ("OTHER", "0.00", "0.00"),
    ]


async def test_only_ledger_reading_operators_get_statements(live_server: LiveServer) -> None:
    today = TODAY.isoformat()
    queries = [
        (TRIAL_BALANCE, {"c": "USD", "d": today}),
        (BALANCE_SHEET, {"c": "USD", "d": today}),
        (PROFIT_AND_LOSS, {"c": "USD", "f": today, "t": today}),
        (CASH_FLOW, {"c": "USD", "f": today, "t": today}),
    ]
    tokens: dict[str | None, str | None] = {None: None}
    for role in ("customer", "mediator", "support", "compliance", "admin"):
        tokens[role] = await person(live_server, None if role == "customer" else role)
    for role, token in tokens.items():
        for query, variables in queries:
            answer = await call(live_server, token, query, variables)
            assert (answer is not None) == (role in ("support", "compliance", "admin")), (
                role,
                query,
            )


async def test_a_bad_period_or_currency_is_a_typed_validation_error(
    live_server: LiveServer,
) -> None:
    token = await person(live_server, "support")
    later, earlier = D[5].isoformat(), D[2].isoformat()
    for query in (PROFIT_AND_LOSS, CASH_FLOW):
        refused = await call(live_server, token, query, {"c": "USD", "f": later, "t": earlier})
        assert refused == {
            "__typename": "ValidationError",
            "code": "VALIDATION_ERROR",
            "fieldErrors": [{"field": "from", "code": "INVALID_PERIOD"}],
        }
        refused = await call(live_server, token, query, {"c": "XYZ", "f": earlier, "t": later})
        assert refused["fieldErrors"] == [{"field": "currency", "code": "UNKNOWN_CURRENCY"}]
    for query in (TRIAL_BALANCE, BALANCE_SHEET):
        refused = await call(live_server, token, query, {"c": "usd ", "d": "9999-12-31"})
        assert refused["fieldErrors"] == [{"field": "asOf", "code": "INVALID_PERIOD"}]
    # Not a date at all: refused before any resolver runs, as GraphQL refuses bad input.
    async with live_server.client() as http:
        body = await gql(http, TRIAL_BALANCE, {"c": "USD", "d": "2026-13-01"}, token=token)
    assert body.get("data") is None and "Date" in body["errors"][0]["message"]


async def download(live: LiveServer, path: str, token: str | None) -> tuple[int, str, bytes]:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    async with live.client() as http:
        response = await http.get(path, headers=headers)
    return response.status_code, response.headers.get("content-type", ""), response.content


async def test_an_operator_downloads_statements_as_csv_and_pdf(
    live_server: LiveServer, owner_database_url: str
) -> None:
    await post_the_story(owner_database_url)
    token = await person(live_server, "compliance")
    d3 = D[3].isoformat()

    status, kind, body = await download(
        live_server, f"/operator/books/balance-sheet.csv?currency=USD&asOf={d3}", token
    )
    assert (status, kind.split(";")[0]) == (200, "text/csv")
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    assert [(r["section"], r["name"], r["amount"], r["amount_minor"]) for r in rows] == [
        ("assets", "Gateway clearing (sandbox)", "1000.00", "100000"),
        ("assets", "Total assets", "1000.00", "100000"),
        ("liabilities", "Customer wallets", "900.00", "90000"),
        ("liabilities", "Merchant balances", "100.00", "10000"),
        ("liabilities", "Total liabilities", "1000.00", "100000"),
        ("equity", "Retained earnings (revenue less expenses to date)", "0.00", "0"),
        ("equity", "Total equity", "0.00", "0"),
        ("total", "Total liabilities and equity", "1000.00", "100000"),
    ]
    assert [(r["code"], r["accounts"]) for r in rows if r["code"]] == [
        ("system:USD:gateway_clearing:sandbox", "1"),
        ("user:*:USD:wallet", "2"),
        ("merchant:*:USD:payable", "1"),
        ("retained_earnings", "0"),
    ]
    assert {(r["statement"], r["currency"], r["from"], r["to"]) for r in rows} == {
        ("balance-sheet", "USD", "", d3)
    }

    status, _, body = await download(
        live_server,
        f"/operator/books/trial-balance.csv?currency=USD&asOf={TODAY.isoformat()}",
        token,
    )
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    assert status == 200
    assert (rows[-1]["name"], rows[-1]["debits"], rows[-1]["credits"]) == (
        "Total",
        "1656.00",
        "1656.00",
    )

    period = f"currency=USD&from={D[2].isoformat()}&to={TODAY.isoformat()}"
    status, _, body = await download(live_server, f"/operator/books/cash-flow.csv?{period}", token)
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    assert status == 200
    assert {r["name"]: r["amount"] for r in rows if r["amount"] not in ("0.00", "")} == {
        "Opening cash": "1000.00",
        "Fees in": "1.00",
        "Total cash in": "1.00",
        "Customer funds out": "-201.00",
        "Merchants out": "-98.50",
        "Total cash out": "-299.50",
        "Net change in cash": "-298.50",
        "Closing cash": "701.50",
    }

    for statement in ("balance-sheet", "trial-balance", "profit-and-loss", "cash-flow"):
        status, kind, body = await download(
            live_server, f"/operator/books/{statement}.pdf?{period}", token
        )
        assert (status, kind, body[:4]) == (200, "application/pdf", b"%PDF"), statement
    _, _, sheet = await download(
        live_server, f"/operator/books/balance-sheet.pdf?currency=USD&asOf={d3}", token
    )
    assert b"Balance sheet" in sheet and b"Assets equal liabilities plus equity: yes" in sheet


async def test_downloads_refuse_strangers_customers_and_bad_requests(
    live_server: LiveServer,
) -> None:
    path = "/operator/books/balance-sheet.csv?currency=USD"
    assert (await download(live_server, path, None))[0] == 401
    assert (await download(live_server, path, await person(live_server)))[0] == 403
    assert (await download(live_server, path, await person(live_server, "mediator")))[0] == 403
    token = await person(live_server, "admin")
    assert (await download(live_server, path, token))[0] == 200
    later, earlier = D[5].isoformat(), D[2].isoformat()
    refused = [
        "/operator/books/cash-flow.csv?currency=USD&from=" + later + "&to=" + earlier,
        "/operator/books/balance-sheet.csv?currency=XYZ",
        "/operator/books/balance-sheet.csv",
        "/operator/books/balance-sheet.pdf?currency=USD&asOf=2026-13-01",
    ]
    for bad in refused:
        assert (await download(live_server, bad, token))[0] == 400, bad
    assert (await download(live_server, "/operator/books/ledger.csv?currency=USD", token))[0] == 404
    assert (await download(live_server, "/operator/books/balance-sheet.xls", token))[0] == 404
