"""Card and bank details stay out of the API and out of Redis in clear (issue 14,
finding 7): the web app tokenises them with the gateway's own tokeniser, the API takes
only the token, and the sandbox vault is sealed and expires."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import httpx
import pytest
from redis.asyncio import Redis

from graphql import GraphQLInputObjectType, GraphQLObjectType
from tests.conftest import LiveServer, serve_asgi
from tests.factories import make_user
from tests.graphql_client import (
    ADD_BANK,
    ADD_CARD,
    PAYMENT_GATEWAY,
    add_bank,
    add_card,
    bank_details,
    call,
    card_details,
    fund,
    step_up,
    token_for,
    tokenize,
    tokenize_response,
)
from tests.integration.test_gateway_callbacks import gateway_ref_of
from tests.integration.test_sandbox_outboxes import everything_in
from wallet.api.graphql.schema import build_schema
from wallet.config import SANDBOX_PUBLISHABLE_KEY
from wallet.db.engine import connection
from wallet.gateway.sandbox import ATTACHED_IDLE_SECONDS, TOKEN_SECONDS, SandboxGateway
from wallet.gateway.tokenizer import TOKENS_PATH, create_tokenizer_app
from wallet.payments.methods import MAX_METHODS

pytestmark = pytest.mark.usefixtures("assert_ledger_sound")

PAN = "4242424242424242"
ACCOUNT = "000123456789"
VAULT = "sandbox:gateway:vault:"
# Names an input could carry cardholder or bank account data under.
CARD_DATA_NAMES = re.compile(
    r"(card_?)?number|pan|cvc|cvv|exp_?(month|year)|account_?number|routing_?number"
    r"|holder_?name|iban",
    re.IGNORECASE,
)


async def vault_keys(redis: Redis) -> list[bytes]:
    return [k async for k in redis.scan_iter(VAULT + "*")]


def test_the_schema_has_no_argument_that_can_carry_a_card_or_account_number() -> None:
    schema = build_schema()._schema
    carriers = [
        f"{type_.name}.{name}"
        for type_ in schema.type_map.values()
        if isinstance(type_, GraphQLInputObjectType)
        for name in type_.fields
        if CARD_DATA_NAMES.fullmatch(name)
    ] + [
        f"{type_.name}.{field_name}({arg})"
        for type_ in schema.type_map.values()
        if isinstance(type_, GraphQLObjectType)
        for field_name, field in type_.fields.items()
        for arg in field.args
        if CARD_DATA_NAMES.fullmatch(arg)
    ]
    assert carriers == []
    assert set(schema.type_map["AddCardInput"].fields) == {"token"}  # type: ignore[attr-defined]
    assert set(schema.type_map["AddBankAccountInput"].fields) == {"token"}  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("mutation", "sent"),
    [
        (ADD_CARD, PAN),
        (ADD_CARD, "4242 4242 4242 4242"),
        (ADD_CARD, "4242-4242-4242-4242"),
        (ADD_CARD, f"tok_{PAN}"),
        (ADD_BANK, ACCOUNT),
    ],
)
async def test_a_card_or_account_number_sent_as_the_token_is_refused_and_kept_nowhere(
    live_server: LiveServer, redis: Redis, mutation: str, sent: str
) -> None:
    user = await make_user()
    token = await token_for(live_server, user)
    await step_up(live_server, token)
    refused = await call(live_server, token, mutation, {"input": {"token": sent}})
    assert refused["__typename"] == "ValidationError"
    assert refused["fieldErrors"] == [{"field": "token", "code": "INVALID"}]
    assert "card or account number" in refused["message"]
    digits = re.sub(r"\D", "", sent)
    async with connection() as conn:
        assert await conn.fetchval("SELECT count(*) FROM payment_method") == 0
        audited = await conn.fetch(
            "SELECT details::text FROM audit_log WHERE action IN ('addCard', 'addBankAccount')"
        )
    assert len(audited) == 1  # the attempt is audited, without the number
    assert digits not in re.sub(r"\D", "", audited[0]["details"])
    assert digits not in await everything_in(redis)


async def test_a_card_is_linked_by_its_token_with_details_the_gateway_reports(
    live_server: LiveServer,
) -> None:
    user = await make_user()
    token = await token_for(live_server, user)
    await step_up(live_server, token)
    card = await tokenize(live_server, card_details("5555555555554444"))
    assert re.fullmatch(r"tok_card_[a-z2-7]{24}", card)
    linked = await call(live_server, token, ADD_CARD, {"input": {"token": card}})
    assert linked["paymentMethod"] | {"id": None} == {
        "id": None,
        "kind": "CARD",
        "brand": "Mastercard",
        "last4": "4444",
        "expMonth": 12,
        "expYear": 2030,
    }
    async with connection() as conn:
        assert await conn.fetchval("SELECT token FROM payment_method") == card

    # A token links once; a bank token is not a card; a made-up token is unknown.
    bank = await tokenize(live_server, bank_details())
    for sent, message in (
        (card, "That token was already used"),
        (bank, "That token is not a card token"),
        ("tok_card_" + "a" * 24, "That token is unknown or has expired"),
        ("<script>", "That is not a payment token"),
    ):
        refused = await call(live_server, token, ADD_CARD, {"input": {"token": sent}})
        assert (refused["__typename"], refused["message"]) == ("ValidationError", message)
    linked_bank = await call(live_server, token, ADD_BANK, {"input": {"token": bank}})
    assert linked_bank["paymentMethod"]["brand"] == "Sandbox Bank"
    assert linked_bank["paymentMethod"]["last4"] == "6789"


async def test_the_tokeniser_needs_the_publishable_key_and_checks_the_details(
    live_server: LiveServer,
) -> None:
    gateway = await call(live_server, None, PAYMENT_GATEWAY)
    assert gateway["publishableKey"] == SANDBOX_PUBLISHABLE_KEY
    assert gateway["tokenizeUrl"] == live_server.settings.gateway.tokenize_url
    assert gateway["tokenizeUrl"] != live_server.url + TOKENS_PATH  # not the API's host
    async with httpx.AsyncClient() as http:
        for headers in ({}, {"authorization": "Bearer pk_wrong"}):
            anonymous = await http.post(
                gateway["tokenizeUrl"], json=card_details(), headers=headers
            )
            assert anonymous.status_code == 401
    bad_routing = bank_details() | {
        "bank_account": bank_details()["bank_account"] | {"routing_number": "110000001"}
    }
    for details, field in (
        (bad_routing, "routingNumber"),
        ({"card": {"number": PAN}}, "expMonth"),
        ({"cheque": {}}, "body"),
    ):
        response = await tokenize_response(live_server, details)
        assert (response.status_code, response.json()["error"]["field"]) == (400, field)
    broken = await tokenize_response(live_server, {"card": "x"})
    assert broken.status_code == 400


async def test_the_tokeniser_allows_only_the_web_apps_origin(redis_url: str) -> None:
    app = create_tokenizer_app(redis_url, SANDBOX_PUBLISHABLE_KEY, ["http://wallet.test"])
    async with serve_asgi(app) as url, httpx.AsyncClient() as http:
        preflight = {
            "access-control-request-method": "POST",
            "access-control-request-headers": "authorization,content-type",
        }
        allowed = await http.options(
            url + TOKENS_PATH, headers={"origin": "http://wallet.test", **preflight}
        )
        other = await http.options(
            url + TOKENS_PATH, headers={"origin": "http://evil.test", **preflight}
        )
        made = await http.post(
            url + TOKENS_PATH,
            json=card_details(),
            headers={
                "origin": "http://wallet.test",
                "authorization": f"Bearer {SANDBOX_PUBLISHABLE_KEY}",
            },
        )
    assert allowed.headers.get("access-control-allow-origin") == "http://wallet.test"
    assert "access-control-allow-origin" not in other.headers
    assert made.status_code == 200
    assert made.headers["access-control-allow-origin"] == "http://wallet.test"
    assert made.headers["cache-control"] == "no-store"


async def test_the_sandbox_vault_keeps_no_number_in_clear_and_nothing_forever(
    redis: Redis,
) -> None:
    """The reviewer read the vault straight from Redis: numbers in clear, no expiry."""
    gateway = SandboxGateway(redis)
    await gateway.tokenize_card(PAN, 12, 2030, "123")
    await gateway.tokenize_bank_account("110000000", ACCOUNT, "Test Holder")
    dump = await everything_in(redis)
    for secret in (PAN, ACCOUNT, "Test Holder"):
        assert secret not in dump
    keys = await vault_keys(redis)
    assert len(keys) == 2
    for key in keys:
        assert 0 < await redis.ttl(key) <= TOKEN_SECONDS


async def test_vault_entries_are_sealed_expire_and_go_when_the_method_is_removed(
    live_server: LiveServer, redis: Redis
) -> None:
    """The reviewer: card and bank numbers sat in plaintext in Redis with no expiry."""
    user = await make_user()
    token = await token_for(live_server, user)
    card = await tokenize(live_server, card_details())
    bank = await tokenize(live_server, bank_details())
    dump = await everything_in(redis)
    for secret in (PAN, ACCOUNT, "Test Holder"):
        assert secret not in dump
    assert sorted(await vault_keys(redis)) == sorted([(VAULT + t).encode() for t in (card, bank)])
    for key in await vault_keys(redis):
        assert 0 < await redis.ttl(key) <= TOKEN_SECONDS  # unattached: an hour at most

    # A sealed entry copied under another token's name does not open there.
    stolen = "tok_bank_" + "b" * 24
    await redis.hset(VAULT + stolen, "sealed", await redis.hget(VAULT + bank, "sealed"))
    await step_up(live_server, token)
    moved = await call(live_server, token, ADD_BANK, {"input": {"token": stolen}})
    assert moved["message"] == "That token is unknown or has expired"

    linked = await call(live_server, token, ADD_CARD, {"input": {"token": card}})
    method_id = linked["paymentMethod"]["id"]
    until_card_expires = (datetime(2031, 1, 1, tzinfo=UTC) - datetime.now(UTC)).total_seconds()
    attached_ttl = await redis.ttl(VAULT + card)
    assert TOKEN_SECONDS < attached_ttl <= min(ATTACHED_IDLE_SECONDS, until_card_expires)
    await redis.expire(VAULT + card, 600)
    assert (await fund(live_server, token, method_id, "5.00"))["transaction"]["status"] == (
        "COMPLETED"
    )
    assert await redis.ttl(VAULT + card) > 600  # a charge keeps a method in use
    assert PAN not in await everything_in(redis)

    removed = await call(
        live_server,
        token,
        "mutation($id: ID!) { removePaymentMethod(id: $id) { __typename } }",
        {"id": method_id},
    )
    assert removed["__typename"] == "RemovePaymentMethodPayload"
    assert await redis.exists(VAULT + card) == 0  # the gateway forgot it


async def test_erasing_an_account_makes_the_gateway_forget_its_methods(
    live_server: LiveServer, redis: Redis
) -> None:
    user = await make_user()
    token = await token_for(live_server, user)
    await add_card(live_server, token)
    assert len(await vault_keys(redis)) == 1
    erased = await call(
        live_server,
        token,
        "mutation($p: String!) { eraseMyAccount(password: $p) { __typename } }",
        {"p": "correct-horse-42"},
    )
    assert erased["__typename"] == "ErasurePayload"
    assert await vault_keys(redis) == []


async def test_an_ach_debit_leaves_the_gateway_its_reference_not_the_account_number(
    live_server: LiveServer, redis: Redis
) -> None:
    user = await make_user()
    token = await token_for(live_server, user)
    method_id = await add_bank(live_server, token)
    txn = (await fund(live_server, token, method_id, "1.00"))["transaction"]
    dump = await everything_in(redis)
    assert await gateway_ref_of(txn["id"]) in dump  # the callback it will send names it
    assert ACCOUNT not in dump


async def test_a_refused_link_leaves_no_details_at_the_gateway(
    live_server: LiveServer, redis: Redis
) -> None:
    user = await make_user()
    token = await token_for(live_server, user)
    async with connection() as conn:
        await conn.executemany(
            "INSERT INTO payment_method (user_id, kind, token, brand, last4, exp_month, exp_year) "
            "VALUES ($1, 'card', $2, 'Visa', '4242', 12, 2030)",
            [(user.id, f"tok_card_old{n}") for n in range(MAX_METHODS)],
        )
    await step_up(live_server, token)
    card = await tokenize(live_server, card_details())
    refused = await call(live_server, token, ADD_CARD, {"input": {"token": card}})
    assert refused["message"] == f"You can link at most {MAX_METHODS} payment methods"
    assert await redis.exists(VAULT + card) == 0  # attached, refused, detached
