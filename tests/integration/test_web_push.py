"""Web Push end to end against a real push endpoint on a loopback port: the browser's
subscription registered over GraphQL, a notification pushed by the worker's job,
encrypted to the browser (decrypted here with its keys), signed with VAPID; endpoints
the push service calls gone are forgotten."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

import http_ece
import pytest
from arq import create_pool
from arq.connections import RedisSettings
from redis.asyncio import Redis

from tests.conftest import LiveServer
from tests.factories import make_user
from tests.graphql_client import call, send, token_for
from tests.http_receiver import receiving
from tests.push_service import Browser, PushService, verify_vapid
from wallet.config import DEVELOPMENT_VAPID_PRIVATE_KEY, InvalidSettings, Settings
from wallet.db.engine import connection
from wallet.notifications import money as money_notifications
from wallet.notifications import push_subscriptions
from wallet.notifications.email import SandboxEmailProvider
from wallet.notifications.money import Notice, deliver_notices
from wallet.notifications.push import (
    PushFailed,
    PushGone,
    PushMessage,
    PushTarget,
    SandboxPushProvider,
    WebPushProvider,
    new_vapid_private_key,
    vapid_public_key,
)
from wallet.outbox.relay import OutboxRelay
from wallet.realtime.channels import Channels
from wallet.security.egress import EgressPolicy, GuardedClient
from workers import settings as worker

SUBJECT = "mailto:push-test@wallet.localhost"
VAPID_KEY = "{ vapidPublicKey }"
REGISTER = """mutation($input: PushSubscriptionInput!) { registerPushSubscription(input: $input) {
  __typename ... on PushSubscriptionPayload { endpoint }
  ... on ValidationError { code fieldErrors { field code message } } } }"""
REMOVE = """mutation($endpoint: String!) { removePushSubscription(endpoint: $endpoint) {
  __typename ... on PushSubscriptionRemovedPayload { removed } } }"""
SET_PREFERENCE = """mutation($input: SetNotificationPreferenceInput!) {
  setNotificationPreference(input: $input) { __typename } }"""


@pytest.fixture
async def push_service() -> AsyncIterator[PushService]:
    async with receiving(PushService()) as service:
        yield service  # type: ignore[misc]


@pytest.fixture
async def web_push() -> AsyncIterator[WebPushProvider]:
    # The test's push service is on loopback: the guard lets private addresses through
    # here, as WALLET_PUSH_ALLOW_PRIVATE_ENDPOINTS does in development.
    async with GuardedClient(EgressPolicy(allow_private=True), timeout=5) as client:
        yield WebPushProvider(client, private_key=DEVELOPMENT_VAPID_PRIVATE_KEY, subject=SUBJECT)


async def created_events(user_id: int) -> list[int]:
    async with connection() as conn:
        rows = await conn.fetch(
            "SELECT id FROM outbox_event WHERE topic = 'notification.created' "
            "AND (payload->>'user_id')::bigint = $1 ORDER BY id",
            user_id,
        )
    return [int(r["id"]) for r in rows]


async def endpoints_of(user_id: int) -> list[str]:
    async with connection() as conn:
        rows = await conn.fetch(
            "SELECT endpoint FROM push_subscription WHERE user_id = $1 ORDER BY id", user_id
        )
    return [r["endpoint"] for r in rows]


async def test_a_notification_is_pushed_encrypted_to_the_browser_and_signed_with_vapid(
    live_server: LiveServer, redis: Redis, push_service: PushService, web_push: WebPushProvider
) -> None:
    browser = Browser()
    alice, bob = await make_user(balance="50.00"), await make_user()
    bob_token = await token_for(live_server, bob)
    public_key = await call(live_server, None, VAPID_KEY)
    assert public_key == vapid_public_key(DEVELOPMENT_VAPID_PRIVATE_KEY)
    registered = await call(
        live_server,
        bob_token,
        REGISTER,
        {"input": browser.subscription(push_service.endpoint("bob"))},
    )
    assert registered == {
        "__typename": "PushSubscriptionPayload",
        "endpoint": push_service.endpoint("bob"),
    }

    sent = await send(
        live_server, await token_for(live_server, alice), bob.username, "12.34", note="lunch"
    )
    async with connection() as conn:
        txn_event = await conn.fetchval(
            "SELECT id FROM outbox_event WHERE topic = 'transaction.updated' "
            "AND (payload->>'transaction_id')::bigint = $1",
            int(sent["transfer"]["id"]),
        )
    await money_notifications.notify_transaction(txn_event, email=SandboxEmailProvider(redis))
    [event_id] = await created_events(bob.id)

    before = int(time.time())
    outcome = await push_subscriptions.push_notification(event_id, provider=web_push)

    assert (outcome.sent, outcome.removed, outcome.failed) == (1, 0, 0)
    [(headers, body)] = push_service.to("bob")
    assert headers["content-encoding"] == "aes128gcm"
    assert int(headers["ttl"]) > 0
    content = browser.decrypt(body)
    assert content["title"] == "You received $12.34"
    assert content["body"] == f"From @{alice.username}: lunch"
    assert content["url"] == "/activity"
    claims = verify_vapid(headers["authorization"], public_key)
    assert claims["aud"] == f"http://127.0.0.1:{push_service.port}"
    assert claims["sub"] == SUBJECT
    assert before < claims["exp"] <= before + 24 * 3600 + 5
    # Another browser's keys cannot read it.
    with pytest.raises(http_ece.ECEException):
        Browser().decrypt(body)

    # The job run again (arq retry, relay re-publish) pushes nothing more.
    again = await push_subscriptions.push_notification(event_id, provider=web_push)
    assert (again.sent, again.skipped) == (0, "already")
    assert len(push_service.to("bob")) == 1


async def test_endpoints_answering_404_or_410_are_removed_and_others_kept(
    live_server: LiveServer, redis: Redis, push_service: PushService, web_push: WebPushProvider
) -> None:
    bob = await make_user()
    token = await token_for(live_server, bob)
    phone, laptop, tablet = Browser(), Browser(), Browser()
    for name, browser in (("phone", phone), ("laptop", laptop), ("tablet", tablet)):
        result = await call(
            live_server,
            token,
            REGISTER,
            {"input": browser.subscription(push_service.endpoint(name))},
        )
        assert result["__typename"] == "PushSubscriptionPayload"
    push_service.statuses = {"/push/laptop": 410, "/push/tablet": 404}
    alice = await make_user(balance="10.00")
    sent = await send(live_server, await token_for(live_server, alice), bob.username, "2.00")
    async with connection() as conn:
        txn_event = await conn.fetchval(
            "SELECT id FROM outbox_event WHERE topic = 'transaction.updated' "
            "AND (payload->>'transaction_id')::bigint = $1",
            int(sent["transfer"]["id"]),
        )
    await money_notifications.notify_transaction(txn_event, email=SandboxEmailProvider(redis))
    [event_id] = await created_events(bob.id)

    outcome = await push_subscriptions.push_notification(event_id, provider=web_push)

    assert (outcome.sent, outcome.removed) == (1, 2)
    assert [len(push_service.to(n)) for n in ("phone", "laptop", "tablet")] == [1, 1, 1]
    assert await endpoints_of(bob.id) == [push_service.endpoint("phone")]
    assert phone.decrypt(push_service.to("phone")[0][1])["title"] == "You received $2.00"


async def test_a_failing_push_service_keeps_the_subscription(
    database_url: str, push_service: PushService, web_push: WebPushProvider
) -> None:
    bob = await make_user()
    browser = Browser()
    target = PushTarget(push_service.endpoint("busy"), browser.p256dh, browser.auth)
    await push_subscriptions.register(bob.id, target, EgressPolicy(allow_private=True))
    push_service.statuses = {"/push/busy": 503}
    message = PushMessage("t", "b", "/")
    with pytest.raises(PushFailed) as failed:
        await web_push.send(target, message)
    assert failed.value.status == 503
    assert await endpoints_of(bob.id) == [target.endpoint]


async def test_push_is_not_sent_when_the_user_turned_push_off_for_that_kind(
    live_server: LiveServer, redis: Redis, push_service: PushService, web_push: WebPushProvider
) -> None:
    bob = await make_user()
    token = await token_for(live_server, bob)
    browser = Browser()
    await call(
        live_server, token, REGISTER, {"input": browser.subscription(push_service.endpoint("b"))}
    )
    off = {"kind": "MONEY_RECEIVED", "channel": "PUSH", "enabled": False}
    assert (await call(live_server, token, SET_PREFERENCE, {"input": off}))["__typename"] == (
        "NotificationPreferencesPayload"
    )
    alice = await make_user(balance="10.00")
    sent = await send(live_server, await token_for(live_server, alice), bob.username, "1.00")
    async with connection() as conn:
        txn_event = await conn.fetchval(
            "SELECT id FROM outbox_event WHERE topic = 'transaction.updated' "
            "AND (payload->>'transaction_id')::bigint = $1",
            int(sent["transfer"]["id"]),
        )
    await money_notifications.notify_transaction(txn_event, email=SandboxEmailProvider(redis))
    [event_id] = await created_events(bob.id)

    outcome = await push_subscriptions.push_notification(event_id, provider=web_push)

    assert (outcome.sent, outcome.skipped) == (0, "off")
    assert push_service.pushes == []


async def test_push_endpoints_on_internal_addresses_are_refused_at_send_time(
    database_url: str, push_service: PushService
) -> None:
    """Endpoints are user input: the production policy never calls loopback (SSRF)."""
    browser = Browser()
    target = PushTarget(push_service.endpoint("internal"), browser.p256dh, browser.auth)
    async with GuardedClient(EgressPolicy(), timeout=5) as client:
        provider = WebPushProvider(
            client, private_key=DEVELOPMENT_VAPID_PRIVATE_KEY, subject=SUBJECT
        )
        with pytest.raises(PushFailed, match="endpoint refused"):
            await provider.send(target, PushMessage("t", "b", "/"))
    assert push_service.pushes == []


async def test_registering_refuses_bad_keys_and_removing_forgets_the_endpoint(
    live_server: LiveServer, push_service: PushService
) -> None:
    bob = await make_user()
    token = await token_for(live_server, bob)
    browser = Browser()
    bad = {**browser.subscription(push_service.endpoint("x")), "p256dh": "bm90IGEga2V5"}
    refused = await call(live_server, token, REGISTER, {"input": bad})
    assert refused["__typename"] == "ValidationError"
    assert refused["fieldErrors"][0]["field"] == "keys"
    not_url = {**browser.subscription("javascript:alert(1)")}
    assert (await call(live_server, token, REGISTER, {"input": not_url}))["fieldErrors"][0][
        "field"
    ] == "endpoint"
    assert await endpoints_of(bob.id) == []

    endpoint = push_service.endpoint("y")
    await call(live_server, token, REGISTER, {"input": browser.subscription(endpoint)})
    # Someone else cannot remove it; its owner can.
    other = await token_for(live_server, await make_user())
    assert (await call(live_server, other, REMOVE, {"endpoint": endpoint}))["removed"] is False
    assert await endpoints_of(bob.id) == [endpoint]
    assert (await call(live_server, token, REMOVE, {"endpoint": endpoint}))["removed"] is True
    assert await endpoints_of(bob.id) == []


async def test_junk_after_a_valid_key_is_a_typed_refusal(
    live_server: LiveServer, push_service: PushService
) -> None:
    """binascii drops characters outside the alphabet: a valid key with 300 "!" after
    it once passed the check and broke the table's length CHECK (a 500)."""
    token = await token_for(live_server, await make_user())
    browser = Browser()
    good = browser.subscription(push_service.endpoint("junk"))
    for field in ("p256dh", "auth"):
        junk = {**good, field: good[field] + "!" * 300}
        refused = await call(live_server, token, REGISTER, {"input": junk})
        assert refused["__typename"] == "ValidationError", refused
        assert refused["fieldErrors"][0]["field"] in (field, "keys")
        # Within the length bound, a character outside base64url is refused too.
        bad_char = {**good, field: good[field][:-1] + "!"}
        refused = await call(live_server, token, REGISTER, {"input": bad_char})
        assert refused["fieldErrors"][0]["field"] == "keys", refused
    assert (await call(live_server, token, REGISTER, {"input": good}))["__typename"] == (
        "PushSubscriptionPayload"
    )


async def test_an_endpoint_alone_cannot_take_another_users_pushes(
    live_server: LiveServer, push_service: PushService
) -> None:
    """Replays the takeover: Mallory learns Ann's endpoint (it is a URL, and URLs leak)
    and registers it with keys of her own, to take Ann's security alerts away."""
    ann, mallory = await make_user(), await make_user()
    ann_token, mallory_token = (
        await token_for(live_server, ann),
        await token_for(live_server, mallory),
    )
    endpoint = push_service.endpoint("ann-phone")
    ann_browser = Browser()
    await call(live_server, ann_token, REGISTER, {"input": ann_browser.subscription(endpoint)})
    stolen = Browser().subscription(endpoint)
    refused = await call(live_server, mallory_token, REGISTER, {"input": stolen})
    assert refused["__typename"] == "ValidationError"
    assert await endpoints_of(ann.id) == [endpoint]
    assert await endpoints_of(mallory.id) == []
    # The browser itself (same keys) moving to another account is a new owner.
    moved = await call(
        live_server, mallory_token, REGISTER, {"input": ann_browser.subscription(endpoint)}
    )
    assert moved["__typename"] == "PushSubscriptionPayload"
    assert (await endpoints_of(ann.id), await endpoints_of(mallory.id)) == ([], [endpoint])


async def test_the_sandbox_push_provider_keeps_messages_and_answers_gone(redis: Redis) -> None:
    sandbox = SandboxPushProvider(redis)
    browser = Browser()
    target = PushTarget("https://push.example/sub/1", browser.p256dh, browser.auth)
    await sandbox.send(target, PushMessage("Hello", "there", "/activity/1"))
    [kept] = await sandbox.sent_to(target.endpoint)
    assert (kept["title"], kept["url"]) == ("Hello", "/activity/1")
    gone = PushTarget("https://push.example/sub/gone", browser.p256dh, browser.auth)
    with pytest.raises(PushGone):
        await sandbox.send(gone, PushMessage("Hello", "there", "/"))


def test_production_refuses_the_development_vapid_key() -> None:
    production = Settings.from_env().replace(environment="production")
    assert production.notifications.vapid_private_key == DEVELOPMENT_VAPID_PRIVATE_KEY
    with pytest.raises(InvalidSettings, match="WALLET_VAPID_PRIVATE_KEY is the development key"):
        production.check()
    # A key of its own is not refused for being the development one.
    own = production.replace(notifications={"vapid_private_key": new_vapid_private_key()})
    assert not any("VAPID" in p for p in own.production_problems())


def test_a_malformed_vapid_key_is_refused_in_any_environment() -> None:
    broken = Settings.from_env().replace(notifications={"vapid_private_key": "c2hvcnQ"})
    with pytest.raises(InvalidSettings, match="WALLET_VAPID_PRIVATE_KEY is not a raw 32-byte"):
        broken.check()


async def test_a_new_notification_is_published_to_its_user_and_queued_for_push(
    database_url: str, redis: Redis, redis_url: str, settings: Settings
) -> None:
    """The outbox path: notification.created goes to the user's notifications channel
    and becomes the worker's push_notification job (which the worker runs)."""
    bob = await make_user()
    channels = Channels(settings.channel_namespace)
    jobs = await create_pool(RedisSettings.from_dsn(redis_url))
    pubsub = redis.pubsub()
    await pubsub.subscribe(channels.notifications(bob.id))
    try:
        notice = Notice(bob.id, "money_added", "$5.00 added", "Ready", "route:1")
        await deliver_notices([notice], SandboxEmailProvider(redis))
        [event_id] = await created_events(bob.id)
        relay = OutboxRelay(publisher=redis, jobs=jobs, channels=channels)
        await relay.drain()
        message = None
        for _ in range(50):
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.1)
            if message:
                break
        assert message is not None
        published = json.loads(message["data"])
        assert (published["event_id"], published["topic"]) == (event_id, "notification.created")
        queued = await jobs.queued_jobs()
        # (make_user's sign-up queued its welcome email too)
        pushes = [j.args for j in queued if j.function == "push_notification"]
        assert pushes == [(event_id,)]
    finally:
        await pubsub.aclose()  # type: ignore[no-untyped-call]
        await jobs.aclose()
    functions = {f.__name__ for f in worker.WorkerSettings.functions}
    assert "push_notification" in functions
    crons = {c.name for c in worker.WorkerSettings.cron_jobs}
    assert any("send_weekly_summaries" in name for name in crons)
