"""Prometheus metrics (issue 16): `/metrics` behind its bearer token, and each family
of the API's and the worker's metrics counted where it happens (wallet.metrics)."""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

import httpx
import pytest
import websockets
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from tests.conftest import LiveServer
from tests.factories import make_user
from tests.graphql_client import ME, gql, send, token_for
from wallet import metrics, observability
from wallet.api.graphql import context
from wallet.auth.ratelimit import Limit, RateLimited, RateLimiter
from wallet.db.engine import transaction
from wallet.outbox.service import Topic, emit
from workers import settings as worker


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def scrape(live: LiveServer, token: str | None) -> httpx.Response:
    headers = {} if token is None else {"authorization": f"Bearer {token}"}
    async with live.client() as http:
        return await http.get("/metrics", headers=headers)


async def test_metrics_need_the_bearer_token(live_server: LiveServer) -> None:
    assert (await scrape(live_server, None)).status_code == 401
    refused = await scrape(live_server, "not-the-token")
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == "Bearer"
    page = await scrape(live_server, live_server.settings.metrics.token)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/plain")
    assert "# TYPE wallet_graphql_operation_seconds histogram" in page.text
    assert "wallet_start_time_seconds" in page.text


async def test_operations_are_timed_by_root_field_and_errors_counted_by_code(
    live_server: LiveServer,
) -> None:
    sender, recipient = await make_user(), await make_user()
    token = await token_for(live_server, sender)
    me = sample("wallet_graphql_operation_seconds_count", operation="me", type="query")
    sends = sample("wallet_graphql_operation_seconds_count", operation="sendMoney", type="mutation")
    short = sample("wallet_graphql_errors_total", code="INSUFFICIENT_FUNDS")
    invalid = sample("wallet_graphql_errors_total", code="INVALID_QUERY")
    async with live_server.client() as http:
        assert (await gql(http, ME, token=token))["data"]["me"]["username"] == sender.username
        broken = await gql(http, "{ noSuchField }", token=token)
    refused = await send(live_server, token, f"@{recipient.username}", "5.00")
    assert refused["__typename"] == "InsufficientFunds"
    assert broken["errors"]
    assert sample("wallet_graphql_operation_seconds_count", operation="me", type="query") == me + 1
    assert (
        sample("wallet_graphql_operation_seconds_count", operation="sendMoney", type="mutation")
        == sends + 1
    )
    assert sample("wallet_graphql_errors_total", code="INSUFFICIENT_FUNDS") == short + 1
    assert sample("wallet_graphql_errors_total", code="INVALID_QUERY") == invalid + 1
    page = (await scrape(live_server, live_server.settings.metrics.token)).text
    assert 'wallet_graphql_operation_seconds_count{operation="sendMoney",type="mutation"}' in page


async def test_a_server_error_is_masked_and_counted_as_internal(
    live_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = await make_user()
    token = await token_for(live_server, user)

    async def broken(user_id: int) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(context, "get_user", broken)
    before = sample("wallet_graphql_errors_total", code="INTERNAL")
    async with live_server.client() as http:
        answer = await gql(http, ME, token=token)
    # Both root fields (me, wallet) failed: each error is masked and counted.
    assert [e["message"] for e in answer["errors"]] == ["Unexpected error."] * 2
    assert "database" not in str(answer)
    assert sample("wallet_graphql_errors_total", code="INTERNAL") == before + 2


async def test_a_client_chosen_root_field_does_not_become_a_label(live_server: LiveServer) -> None:
    before = sample("wallet_graphql_operation_seconds_count", operation="unknown", type="query")
    async with live_server.client() as http:
        assert (await gql(http, "{ __typename }"))["data"] == {"__typename": "Query"}
    after = sample("wallet_graphql_operation_seconds_count", operation="unknown", type="query")
    assert after == before + 1


async def test_sends_count_their_batches_and_the_pool_is_watched(live_server: LiveServer) -> None:
    sender, recipient = await make_user(balance="10.00"), await make_user()
    token = await token_for(live_server, sender)
    batches = sample("wallet_send_batch_sends_count")
    sent = await send(live_server, token, f"@{recipient.username}", "1.00")
    assert sent["__typename"] == "SendMoneyPayload"
    assert sample("wallet_send_batch_sends_count") == batches + 1
    assert sample("wallet_db_pool_connections", state="size") >= 1
    size = sample("wallet_db_pool_connections", state="size")
    assert sample("wallet_db_pool_connections", state="in_use") == size - sample(
        "wallet_db_pool_connections", state="idle"
    )


async def test_open_subscriptions_are_counted_while_they_run(live_server: LiveServer) -> None:
    user = await make_user()
    token = await token_for(live_server, user)
    before = sample("wallet_subscriptions_active")
    ws = await websockets.connect(live_server.ws_url, subprotocols=["graphql-transport-ws"])
    await ws.send(
        json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
    )
    assert json.loads(await ws.recv())["type"] == "connection_ack"
    query = "subscription { balanceChanged { currency } }"
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}))
    await _until(lambda: sample("wallet_subscriptions_active") == before + 1)
    await ws.send(json.dumps({"id": "1", "type": "complete"}))
    await ws.close()
    await _until(lambda: sample("wallet_subscriptions_active") == before)


async def test_rate_limit_refusals_are_counted_by_limit(redis: Redis) -> None:
    limiter = RateLimiter(redis)
    limit = Limit("metrics-test", 1, 60)
    before = sample("wallet_rate_limit_refusals_total", limit="metrics-test")
    await limiter.consume(limit, "someone")
    with pytest.raises(RateLimited):
        await limiter.consume(limit, "someone")
    assert sample("wallet_rate_limit_refusals_total", limit="metrics-test") == before + 1


async def test_worker_jobs_are_counted_by_outcome() -> None:
    async def tidy(ctx: dict[str, Any]) -> int:
        return 3

    async def broken(ctx: dict[str, Any]) -> int:
        raise RuntimeError("boom")

    ok, failed = worker.counted(tidy), worker.counted(broken)
    assert ok.__qualname__ == tidy.__qualname__  # arq files the job under its own name
    assert await ok({}) == 3
    with pytest.raises(RuntimeError):
        await failed({})
    assert sample("wallet_worker_jobs_total", task="tidy", outcome="ok") == 1
    assert sample("wallet_worker_jobs_total", task="broken", outcome="failed") == 1


async def test_the_worker_computes_the_gauges_that_need_sql(
    redis: Redis, database_url: str
) -> None:
    alice, bob = await make_user(balance="40.00"), await make_user(balance="2.50")
    await redis.zadd(observability.ARQ_QUEUE, {"job-a": 1, "job-b": 2})
    async with transaction() as conn:
        await emit(conn, Topic.BALANCE_CHANGED, {"user_id": alice.id})
    figures = await observability.compute(redis)
    assert figures.queue_depth == 2
    assert figures.outbox_backlog >= 1 and figures.outbox_lag_seconds >= 0
    assert figures.customer_balances["USD"] >= 42.5
    assert figures.users["active"] >= 2
    assert figures.kyc_reviews_open == 0 and figures.aml_cases_open == 0
    observability.publish(figures)
    assert sample("wallet_worker_queue_depth") == 2
    assert sample("wallet_outbox_backlog") == figures.outbox_backlog
    assert sample("wallet_customer_balances", currency="USD") == float(
        figures.customer_balances["USD"]
    )
    assert sample("wallet_users", status="active") == figures.users["active"]
    assert sample("wallet_add_money_success_ratio_24h") == figures.add_money_success_ratio
    assert sample("wallet_metrics_computed_timestamp_seconds") > 0
    # The opening credits are completed transactions of the last day: counted and valued.
    count, value = figures.transactions[("promotional_credit", "USD")]
    assert count >= 2 and value >= 42.5
    assert sample(
        "wallet_transaction_average_24h", type="promotional_credit", currency="USD"
    ) == float(value / count)
    assert bob.id != alice.id


async def test_the_worker_serves_its_metrics_on_its_own_port() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = worker.serve_metrics("127.0.0.1", port)
    try:
        metrics.WEBHOOK_DELIVERIES.labels("failed").inc(0)
        async with httpx.AsyncClient() as http:
            page = await http.get(f"http://127.0.0.1:{port}/metrics")
        assert page.status_code == 200
        assert "wallet_webhook_deliveries_total" in page.text
        assert "wallet_worker_queue_depth" in page.text
    finally:
        server.shutdown()
    assert worker.serve_metrics("127.0.0.1", 0) is None


async def _until(check: Any, seconds: float = 5) -> None:
    for _ in range(int(seconds / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition never held")
