"""Currency balances, FX quotes, conversions and cross-currency sends over GraphQL."""

import uuid
from typing import Any

import pytest

from tests.conftest import LiveServer
from tests.factories import make_user
from tests.graphql_client import call, send, token_for
from wallet.db.engine import connection, transaction
from wallet.fx.service import purge_unused_quotes
from wallet.transfers.reversal import reverse_transfer

pytestmark = pytest.mark.usefixtures("assert_ledger_sound")

QUOTE = """
mutation($input: FxQuoteInput!) {
  fxQuote(input: $input) {
    __typename
    ... on FxQuotePayload { quote { id sellCurrency buyCurrency sellAmount fee buyAmount rate
                                    midRate expiresInSeconds } }
    ... on UserError { code message }
    ... on InsufficientFunds { available }
    ... on ValidationError { fieldErrors { field code } }
  }
}"""

CONVERT = """
mutation($input: ConvertInput!) {
  convert(input: $input) {
    __typename
    ... on ConvertPayload { conversion { transactionId sold soldCurrency bought boughtCurrency
                                         rate } }
    ... on UserError { code message }
    ... on InsufficientFunds { available }
    ... on ValidationError { fieldErrors { field code } }
  }
}"""

OPEN = """mutation($c: String!) { openCurrencyBalance(currency: $c) {
  __typename ... on CurrencyBalancePayload { balance { currency available } }
  ... on UserError { code message } ... on ValidationError { fieldErrors { field code } } } }"""

CLOSE = """mutation($c: String!) { closeCurrencyBalance(currency: $c) {
  __typename ... on CurrencyBalancePayload { balance { currency } }
  ... on UserError { code message } ... on ValidationError { fieldErrors { field code } } } }"""

BALANCES = "{ wallet { balances { currency available } } }"
SET_PIN = "mutation($pin: String!) { setTransactionPin(pin: $pin) { __typename } }"
STEP_UP = """mutation($m: StepUpMethod!, $c: String!) { verifyStepUp(method: $m, code: $c) {
  __typename } }"""

HISTORY = """{ transactions(first: 5) { edges { node {
  type direction amount currency counterAmount counterCurrency runningBalance } } } }"""


async def quote(
    live: LiveServer, token: str, sell: str, buy: str, amount: str, side: str = "SELL"
) -> dict[str, Any]:
    variables = {"input": {"sell": sell, "buy": buy, "amount": amount, "fixedSide": side}}
    return await call(live, token, QUOTE, variables)


async def convert(live: LiveServer, token: str, quote_id: str, key: str | None = None) -> Any:
    variables = {"input": {"quoteId": quote_id, "idempotencyKey": key or uuid.uuid4().hex}}
    return await call(live, token, CONVERT, variables)


async def balances(live: LiveServer, token: str) -> dict[str, str]:
    data = await call(live, token, BALANCES)
    return {b["currency"]: b["available"] for b in data["balances"]}


async def counts() -> tuple[int, int, int]:
    async with connection() as conn:
        row = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM fx_quote), (SELECT count(*) FROM money_transaction),"
            " (SELECT count(*) FROM journal_entry)"
        )
    return tuple(row)  # type: ignore[return-value]


async def test_convert_executes_the_quote_exactly_once(live_server: LiveServer) -> None:
    alice = await make_user(balance="250.00")
    token = await token_for(live_server, alice)
    offered = (await quote(live_server, token, "USD", "EUR", "100.00"))["quote"]
    # 100.00 USD at the sandbox mid 0.9213, fee 25 bps, spread 35 bps (docs/fx.md).
    assert (offered["sellAmount"], offered["fee"], offered["buyAmount"]) == (
        "100.00",
        "0.25",
        "91.57",
    )
    assert (offered["midRate"], offered["rate"]) == ("0.9213", "0.91807545")
    assert 25 <= offered["expiresInSeconds"] <= 30

    key = uuid.uuid4().hex
    done = await convert(live_server, token, offered["id"], key)
    assert done["__typename"] == "ConvertPayload"
    assert (done["conversion"]["sold"], done["conversion"]["bought"]) == ("100.00", "91.57")
    assert await balances(live_server, token) == {"EUR": "91.57", "USD": "150.00"}

    # The same key replays the receipt; another key cannot use the quote again.
    assert await convert(live_server, token, offered["id"], key) == done
    again = await convert(live_server, token, offered["id"])
    assert again["fieldErrors"] == [{"field": "quoteId", "code": "INVALID"}]
    assert await balances(live_server, token) == {"EUR": "91.57", "USD": "150.00"}

    # History shows what was sold and bought, with the running balance of the sold side.
    node = (await call(live_server, token, HISTORY))["edges"][0]["node"]
    assert node == {
        "type": "FX",
        "direction": "OUT",
        "amount": "100.00",
        "currency": "USD",
        "counterAmount": "91.57",
        "counterCurrency": "EUR",
        "runningBalance": "150.00",
    }
    async with connection() as conn:
        legs = await conn.fetch(
            "SELECT a.purpose, a.currency, p.side, p.amount FROM posting p "
            "JOIN ledger_account a ON a.id = p.account_id "
            "JOIN money_transaction t ON t.entry_id = p.entry_id WHERE t.id = $1 "
            "ORDER BY a.currency DESC, p.side DESC, a.purpose",
            int(done["conversion"]["transactionId"]),
        )
    assert [tuple(leg) for leg in legs] == [
        ("wallet", "USD", "D", 10_000),
        ("fee_revenue", "USD", "C", 25),
        ("fx_position", "USD", "C", 9_975),
        ("fx_position", "EUR", "D", 9_190),
        ("fx_rounding", "EUR", "C", 1),
        ("fx_spread_revenue", "EUR", "C", 32),
        ("wallet", "EUR", "C", 9_157),
    ]


async def test_a_fixed_buy_amount_arrives_exactly_and_yen_has_no_decimals(
    live_server: LiveServer,
) -> None:
    alice = await make_user(balance="50.00")
    token = await token_for(live_server, alice)
    offered = (await quote(live_server, token, "USD", "JPY", "5000", side="BUY"))["quote"]
    assert offered["buyAmount"] == "5000"
    assert (await convert(live_server, token, offered["id"]))["__typename"] == "ConvertPayload"
    after = await balances(live_server, token)
    assert after["JPY"] == "5000"
    sold = 5_000 - int(after["USD"].replace(".", ""))
    assert f"{sold // 100}.{sold % 100:02d}" == offered["sellAmount"]

    too_precise = await quote(live_server, token, "USD", "JPY", "1.5", side="BUY")
    assert too_precise["fieldErrors"] == [{"field": "amount", "code": "INVALID"}]


async def test_an_expired_quote_is_refused_and_writes_nothing(live_server: LiveServer) -> None:
    alice = await make_user(balance="20.00")
    token = await token_for(live_server, alice)
    offered = (await quote(live_server, token, "USD", "GBP", "10.00"))["quote"]
    async with connection() as conn:  # half a minute passes
        await conn.execute(
            "UPDATE fx_quote SET expires_at = now() - interval '1 second' WHERE id = $1",
            offered["id"],
        )
    before = await counts()
    expired = await convert(live_server, token, offered["id"])
    assert (expired["__typename"], expired["code"]) == ("QuoteExpired", "QUOTE_EXPIRED")
    assert await counts() == before
    assert await balances(live_server, token) == {"USD": "20.00"}


async def test_bad_quote_input_gets_typed_errors_with_nothing_written(
    live_server: LiveServer,
) -> None:
    alice, mallory = await make_user(balance="5.00"), await make_user(balance="5.00")
    token, other = await token_for(live_server, alice), await token_for(live_server, mallory)
    before = await counts()
    unknown = await quote(live_server, token, "USD", "XYZ", "1.00")
    assert unknown["fieldErrors"] == [{"field": "currency", "code": "INVALID"}]
    same = await quote(live_server, token, "USD", "USD", "1.00")
    assert same["fieldErrors"] == [{"field": "buy", "code": "SAME_CURRENCY"}]
    zero = await quote(live_server, token, "USD", "EUR", "0")
    assert zero["__typename"] == "ValidationError"
    dust = await quote(live_server, token, "JPY", "USD", "1")
    assert dust["fieldErrors"] == [{"field": "amount", "code": "TOO_SMALL"}]
    assert await counts() == before

    # A quote for more than the balance is refused when quoted, not at Convert, with
    # what is available in the currency sold (whichever side was fixed).
    for side, amount in (("SELL", "9.00"), ("BUY", "9.00")):
        big = await quote(live_server, token, "USD", "EUR", amount, side)
        assert (big["__typename"], big["available"]) == ("InsufficientFunds", "5.00")
        assert big["code"] == "INSUFFICIENT_FUNDS"
    none_held = await quote(live_server, token, "EUR", "USD", "1.00")
    assert (none_held["__typename"], none_held["available"]) == ("InsufficientFunds", "0.00")
    assert await counts() == before
    # Convert checks again: money spent after the quote leaves it short.
    fits = (await quote(live_server, token, "USD", "EUR", "4.00"))["quote"]
    assert (await send(live_server, token, mallory.username, "2.00"))["transfer"]
    short = await convert(live_server, token, fits["id"])
    assert (short["__typename"], short["available"]) == ("InsufficientFunds", "3.00")
    # Someone else's quote does not exist for you.
    stolen = await convert(live_server, other, fits["id"])
    assert stolen["__typename"] == "NotFound"
    assert await balances(live_server, token) == {"USD": "3.00"}
    assert await balances(live_server, other) == {"USD": "7.00"}
    # A frozen wallet converts nothing: told at quote time too.
    async with connection() as conn:
        await conn.execute("UPDATE wallet SET status = 'frozen' WHERE user_id = $1", alice.id)
    frozen = await quote(live_server, token, "USD", "EUR", "1.00")
    assert frozen["code"] == "WALLET_UNAVAILABLE"


async def test_currency_balances_open_and_close_only_at_zero(live_server: LiveServer) -> None:
    alice, bob = await make_user(balance="30.00"), await make_user()
    token, bob_token = await token_for(live_server, alice), await token_for(live_server, bob)
    opened = await call(live_server, token, OPEN, {"c": "brl"})
    assert opened["balance"] == {"currency": "BRL", "available": "0.00"}
    assert await balances(live_server, token) == {"BRL": "0.00", "USD": "30.00"}

    not_empty = await call(live_server, token, CLOSE, {"c": "USD"})
    assert not_empty["fieldErrors"] == [{"field": "currency", "code": "NOT_EMPTY"}]
    assert (await call(live_server, token, CLOSE, {"c": "BRL"}))["balance"] is None
    assert await balances(live_server, token) == {"USD": "30.00"}
    unknown = await call(live_server, token, OPEN, {"c": "DOGE"})
    assert unknown["fieldErrors"] == [{"field": "currency", "code": "INVALID"}]

    # Bob spends his only balance to zero; he still cannot close the last one.
    last = await call(live_server, bob_token, CLOSE, {"c": "USD"})
    assert last["fieldErrors"] == [{"field": "currency", "code": "LAST_BALANCE"}]
    # A closed balance reopens when money arrives in it.
    await call(live_server, bob_token, OPEN, {"c": "EUR"})
    assert (await call(live_server, bob_token, CLOSE, {"c": "USD"}))["balance"] is None
    assert await balances(live_server, bob_token) == {"EUR": "0.00"}
    assert (await send(live_server, token, bob.username, "3.00"))["__typename"] == (
        "SendMoneyPayload"
    )
    assert await balances(live_server, bob_token) == {"EUR": "0.00", "USD": "3.00"}


SEND_ABROAD = """
mutation($input: SendMoneyInput!) {
  sendMoney(input: $input) {
    __typename
    ... on SendMoneyPayload { transfer { amount currency receivedAmount receivedCurrency } }
    ... on UserError { code message }
    ... on LimitExceeded { limit maximum remaining }
    ... on ValidationError { fieldErrors { field code } }
  }
}"""


async def send_abroad(
    live: LiveServer, token: str, recipient: str, amount: str, quote_id: str
) -> Any:
    variables = {
        "input": {
            "recipient": recipient,
            "amount": amount,
            "quoteId": quote_id,
            "idempotencyKey": uuid.uuid4().hex,
        }
    }
    return await call(live, token, SEND_ABROAD, variables)


async def test_a_cross_currency_send_delivers_the_quoted_amount(live_server: LiveServer) -> None:
    alice, bob = await make_user(balance="100.00"), await make_user()
    token, bob_token = await token_for(live_server, alice), await token_for(live_server, bob)
    offered = (await quote(live_server, token, "USD", "EUR", "50.00", side="BUY"))["quote"]
    assert offered["buyAmount"] == "50.00"

    mismatch = await send_abroad(live_server, token, bob.username, "1.00", offered["id"])
    assert mismatch["fieldErrors"] == [{"field": "quoteId", "code": "INVALID"}]
    nobody = await send_abroad(
        live_server, token, "+14155550000", offered["sellAmount"], offered["id"]
    )
    assert nobody["__typename"] == "NotFound"

    sent = await send_abroad(live_server, token, bob.username, offered["sellAmount"], offered["id"])
    assert sent["transfer"] == {
        "amount": offered["sellAmount"],
        "currency": "USD",
        "receivedAmount": "50.00",
        "receivedCurrency": "EUR",
    }
    assert await balances(live_server, bob_token) == {"EUR": "50.00", "USD": "0.00"}
    node = (await call(live_server, bob_token, HISTORY))["edges"][0]["node"]
    assert (node["direction"], node["amount"], node["currency"], node["runningBalance"]) == (
        "IN",
        "50.00",
        "EUR",
        "50.00",
    )
    assert (node["counterAmount"], node["counterCurrency"]) == (offered["sellAmount"], "USD")


async def test_a_large_cross_currency_send_needs_full_verification(
    live_server: LiveServer,
) -> None:
    alice, bob = await make_user(balance="3000.00", pin="1357"), await make_user()
    token = await token_for(live_server, alice)
    async with connection() as conn:
        await conn.execute(
            "UPDATE app_user SET verification_level = 'basic' WHERE id = $1", alice.id
        )
    # Sends this large need a fresh second factor too (docs/security.md).
    stepped = await call(live_server, token, STEP_UP, {"m": "PIN", "c": "1357"})
    assert stepped["__typename"] == "StepUpPayload"
    offered = (await quote(live_server, token, "USD", "GBP", "1000.01"))["quote"]
    refused = await send_abroad(live_server, token, bob.username, "1000.01", offered["id"])
    assert (refused["__typename"], refused["limit"], refused["maximum"]) == (
        "LimitExceeded",
        "CROSS_BORDER",
        "1000.00",
    )
    assert await balances(live_server, token) == {"USD": "3000.00"}
    # At the threshold it goes through; with full verification above it too.
    at = (await quote(live_server, token, "USD", "GBP", "1000.00"))["quote"]
    done = await send_abroad(live_server, token, bob.username, "1000.00", at["id"])
    assert done["__typename"] == "SendMoneyPayload"
    async with connection() as conn:
        await conn.execute(
            "UPDATE app_user SET verification_level = 'full' WHERE id = $1", alice.id
        )
    retry = await send_abroad(live_server, token, bob.username, "1000.01", offered["id"])
    assert retry["transfer"]["receivedCurrency"] == "GBP"


async def test_reversing_a_cross_currency_send_returns_both_sides_exactly(
    live_server: LiveServer,
) -> None:
    alice, bob = await make_user(balance="80.00"), await make_user()
    token, bob_token = await token_for(live_server, alice), await token_for(live_server, bob)
    offered = (await quote(live_server, token, "USD", "INR", "20.00"))["quote"]
    await send_abroad(live_server, token, bob.username, "20.00", offered["id"])
    assert (await balances(live_server, token))["USD"] == "60.00"
    # Bob's rupees go back at the original terms, fee and spread included.
    async with connection() as conn:
        sent_id = await conn.fetchval(
            "SELECT id FROM money_transaction WHERE type = 'send' AND initiator_user_id = $1",
            alice.id,
        )
    reversal = await reverse_transfer(int(sent_id), "sent to the wrong person")
    assert await balances(live_server, token) == {"USD": "80.00"}
    assert await balances(live_server, bob_token) == {"INR": "0.00", "USD": "0.00"}
    async with connection() as conn:
        row = await conn.fetchrow(
            "SELECT currency, amount, counter_currency, counter_amount FROM money_transaction "
            "WHERE id = $1",
            reversal.reversal_id,
        )
    assert (row["currency"], row["counter_currency"], row["counter_amount"]) == (
        "INR",
        "USD",
        2_000,
    )
    assert f"{row['amount'] // 100}.{row['amount'] % 100:02d}" == offered["buyAmount"]


async def test_unused_quotes_are_purged_and_used_ones_kept(live_server: LiveServer) -> None:
    alice = await make_user(balance="10.00")
    token = await token_for(live_server, alice)
    used = (await quote(live_server, token, "USD", "EUR", "1.00"))["quote"]
    await convert(live_server, token, used["id"])
    unused = (await quote(live_server, token, "USD", "EUR", "2.00"))["quote"]
    fresh = (await quote(live_server, token, "USD", "EUR", "3.00"))["quote"]
    async with transaction() as conn:
        await conn.execute(
            "UPDATE fx_quote SET created_at = now() - interval '2 days' WHERE id = ANY($1)",
            [used["id"], unused["id"]],
        )
        assert await purge_unused_quotes(conn) == 1
        left = await conn.fetch("SELECT id FROM fx_quote ORDER BY created_at")
    assert [r["id"] for r in left] == [used["id"], fresh["id"]]
