"""Merchant webhooks against a real HTTP receiver: signed, retried with backoff, logged,
replayable.

The receiver listens on this machine, so these tests allow private targets
(`WALLET_WEBHOOK_ALLOW_PRIVATE_TARGETS`); test_webhook_ssrf.py tests the default.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import LiveServer
from tests.graphql_client import call
from tests.http_receiver import Receiver, receiving
from tests.merchant_helpers import CREATE, customer, pay, shop
from wallet.config import Settings
from wallet.gateway import signing
from wallet.merchants import webhooks
from wallet.security.egress import EgressPolicy, GuardedClient

pytestmark = pytest.mark.usefixtures("assert_ledger_sound")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.replace(merchants={"webhook_allow_private_targets": True})


SET_HOOK = """mutation($m: ID!, $url: String!) { setMerchantWebhook(merchantId: $m, url: $url) {
  __typename ... on WebhookEndpointPayload { secret } ... on UserError { code } } }"""
DELIVERIES = """query($m: ID!) { webhookDeliveries(merchantId: $m) {
  id eventType status attempts lastStatusCode lastError } }"""
REPLAY = """mutation($m: ID!, $d: ID!) { replayWebhookDelivery(merchantId: $m, deliveryId: $d) {
  __typename ... on WebhookDelivery { status } } }"""


async def run_worker_at(now: datetime, base: timedelta = timedelta(seconds=10)) -> int:
    async with GuardedClient(EgressPolicy(allow_private=True), timeout=5) as client:
        return await webhooks.deliver_due(client, now, retry_base=base)


async def test_payment_webhook_is_signed_retried_with_backoff_and_replayable(
    live_server: LiveServer,
) -> None:
    _, owner_token, merchant_id = await shop(live_server)
    _, buyer_token = await customer(live_server)
    async with receiving(Receiver(failures=2)) as receiver:
        secret = (
            await call(live_server, owner_token, SET_HOOK, {"m": merchant_id, "url": receiver.url})
        )["secret"]
        request = (
            await call(
                live_server,
                owner_token,
                CREATE,
                {"input": {"merchantId": merchant_id, "amount": "8.00", "orderId": "W-1"}},
            )
        )["request"]
        paid = await pay(live_server, buyer_token, request["id"])
        now = datetime.now(UTC)
        assert await run_worker_at(now) == 1  # attempt 1: HTTP 500
        assert await run_worker_at(now + timedelta(seconds=5)) == 0  # backing off (10 s)
        assert await run_worker_at(now + timedelta(seconds=11)) == 1  # attempt 2: 500
        assert await run_worker_at(now + timedelta(seconds=25)) == 0  # now 20 s
        assert await run_worker_at(now + timedelta(seconds=32)) == 1  # attempt 3: 200
        log = await call(live_server, owner_token, DELIVERIES, {"m": merchant_id})
        assert [(d["eventType"], d["status"], d["attempts"], d["lastStatusCode"]) for d in log] == [
            ("payment.succeeded", "DELIVERED", 3, 200)
        ]
        headers, body = receiver.received[-1]
        signing.verify(secret, body, headers["x-wallet-signature"])  # raises if forged
        with pytest.raises(signing.InvalidSignature):
            signing.verify("whsec_wrong", body, headers["x-wallet-signature"])
        event = json.loads(body)
        assert (event["type"], event["data"]["order_id"], event["data"]["amount"]) == (
            "payment.succeeded",
            "W-1",
            "8.00",
        )
        assert event["data"]["transaction_id"] == int(paid["payment"]["transactionId"])
        assert headers["x-wallet-delivery"] == log[0]["id"]

        replayed = await call(
            live_server, owner_token, REPLAY, {"m": merchant_id, "d": log[0]["id"]}
        )
        assert replayed["status"] == "PENDING"
        assert await run_worker_at(datetime.now(UTC)) == 1
        assert len(receiver.received) == 4
        assert receiver.received[-1][1] == body  # the same event, byte for byte


async def test_no_webhook_without_an_endpoint_and_a_dead_endpoint_gives_up(
    live_server: LiveServer,
) -> None:
    _, owner_token, merchant_id = await shop(live_server)
    _, buyer_token = await customer(live_server)
    request = (
        await call(
            live_server,
            owner_token,
            CREATE,
            {"input": {"merchantId": merchant_id, "amount": "1.00"}},
        )
    )["request"]
    await pay(live_server, buyer_token, request["id"])
    assert await call(live_server, owner_token, DELIVERIES, {"m": merchant_id}) == []

    await call(
        live_server,
        owner_token,
        SET_HOOK,
        {"m": merchant_id, "url": "http://127.0.0.1:9/nothing-listens"},
    )
    request = (
        await call(
            live_server,
            owner_token,
            CREATE,
            {"input": {"merchantId": merchant_id, "amount": "1.00"}},
        )
    )["request"]
    await pay(live_server, buyer_token, request["id"], idempotencyKey=uuid.uuid4().hex)
    moment = datetime.now(UTC)
    for attempt in range(webhooks.MAX_ATTEMPTS):
        moment += timedelta(seconds=1) * (2**attempt)
        assert await run_worker_at(moment, timedelta(seconds=1)) == 1
    (delivery,) = await call(live_server, owner_token, DELIVERIES, {"m": merchant_id})
    assert (delivery["status"], delivery["attempts"]) == ("FAILED", webhooks.MAX_ATTEMPTS)
    assert "ConnectError" in delivery["lastError"]
    bad = await call(live_server, owner_token, SET_HOOK, {"m": merchant_id, "url": "ftp://x"})
    assert bad["__typename"] == "ValidationError"
