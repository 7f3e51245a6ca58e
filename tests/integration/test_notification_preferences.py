"""Per-channel notification preferences: the defaults, the typed refusal to silence
security alerts, and delivery following them for every kind on every channel (in the
app, email, SMS, push)."""

from __future__ import annotations

import itertools

import pytest
from redis.asyncio import Redis

from tests.conftest import LiveServer
from tests.factories import make_user
from tests.graphql_client import call, token_for
from tests.push_service import Browser
from wallet.db.engine import connection
from wallet.notifications import centre, push_subscriptions
from wallet.notifications.email import SandboxEmailProvider
from wallet.notifications.money import Notice, deliver_notices
from wallet.notifications.preferences import DEFAULTS, Channel, Kind, set_preference
from wallet.notifications.push import PushTarget, SandboxPushProvider
from wallet.notifications.sms import SandboxSmsProvider
from wallet.security.egress import EgressPolicy
from wallet.users.models import User

PREFERENCES = "{ notificationPreferences { kind channel enabled locked } }"
SET = """mutation($input: SetNotificationPreferenceInput!) {
  setNotificationPreference(input: $input) {
    __typename
    ... on NotificationPreferencesPayload { preferences { kind channel enabled locked } }
    ... on PreferenceLocked { code message kind channel } } }"""

# A notice of each kind, as the services write them.
SAMPLE: dict[Kind, tuple[str, bool]] = {
    Kind.MONEY_RECEIVED: ("money_received", False),
    Kind.REQUESTS: ("money_requested", False),
    Kind.SECURITY: ("new_device", False),
    Kind.LOW_BALANCE: ("low_balance", False),
    Kind.WEEKLY_SUMMARY: ("weekly_summary", False),
    Kind.MARKETING: ("marketing", False),
}
_keys = itertools.count()


def as_map(rows: list[dict[str, object]]) -> dict[tuple[str, str], bool]:
    return {(str(r["kind"]), str(r["channel"])): bool(r["enabled"]) for r in rows}


async def test_defaults_are_listed_and_marketing_is_off_until_turned_on(
    live_server: LiveServer,
) -> None:
    token = await token_for(live_server, await make_user())
    listed = await call(live_server, token, PREFERENCES)
    assert len(listed) == 6 * 4
    chosen = as_map(listed)
    assert [chosen["MARKETING", c] for c in ("IN_APP", "EMAIL", "SMS", "PUSH")] == [False] * 4
    assert [chosen["SECURITY", c] for c in ("IN_APP", "EMAIL", "SMS", "PUSH")] == [True] * 4
    assert chosen["MONEY_RECEIVED", "PUSH"] and not chosen["MONEY_RECEIVED", "SMS"]
    assert {r["locked"] for r in listed if r["kind"] == "SECURITY"} == {True}
    assert {r["locked"] for r in listed if r["kind"] != "SECURITY"} == {False}

    on = {"kind": "MARKETING", "channel": "EMAIL", "enabled": True}
    result = await call(live_server, token, SET, {"input": on})
    assert result["__typename"] == "NotificationPreferencesPayload"
    assert as_map(result["preferences"])["MARKETING", "EMAIL"] is True
    assert as_map(await call(live_server, token, PREFERENCES))["MARKETING", "EMAIL"] is True
    assert as_map(await call(live_server, token, PREFERENCES))["MARKETING", "PUSH"] is False


@pytest.mark.parametrize("channel", ["IN_APP", "EMAIL", "SMS", "PUSH"])
async def test_security_alerts_cannot_be_turned_off(live_server: LiveServer, channel: str) -> None:
    token = await token_for(live_server, await make_user())
    off = {"kind": "SECURITY", "channel": channel, "enabled": False}
    refused = await call(live_server, token, SET, {"input": off})
    assert refused["__typename"] == "PreferenceLocked"
    assert refused["code"] == "PREFERENCE_LOCKED"
    assert "can't be turned off" in refused["message"]
    assert (refused["kind"], refused["channel"]) == ("SECURITY", channel)
    assert as_map(await call(live_server, token, PREFERENCES))["SECURITY", channel] is True


async def test_preferences_need_a_signed_in_user(live_server: LiveServer) -> None:
    assert await call(live_server, None, PREFERENCES) is None
    on = {"kind": "MARKETING", "channel": "EMAIL", "enabled": True}
    assert (await call(live_server, None, SET, {"input": on}))["__typename"] == "NotAuthenticated"


async def delivered_on(user: User, kind: Kind, redis: Redis) -> set[Channel]:
    """Deliver one notice of `kind` to `user`, push it, and see where it arrived."""
    email, sms, push = (
        SandboxEmailProvider(redis),
        SandboxSmsProvider(redis),
        SandboxPushProvider(redis),
    )
    browser = Browser()
    endpoint = f"https://push.example/{user.id}"
    await push_subscriptions.register(
        user.id, PushTarget(endpoint, browser.p256dh, browser.auth), EgressPolicy()
    )
    notice_kind, _ = SAMPLE[kind]
    notice = Notice(user.id, notice_kind, f"A {kind.value} notice", "Body", f"t:{next(_keys)}")
    assert await deliver_notices([notice], email, sms) == 1
    async with connection() as conn:
        event_id = await conn.fetchval(
            "SELECT max(id) FROM outbox_event WHERE topic = 'notification.created' "
            "AND (payload->>'user_id')::bigint = $1",
            user.id,
        )
    await push_subscriptions.push_notification(event_id, provider=push)
    arrived = set()
    if await centre.notifications_of(user.id):
        arrived.add(Channel.IN_APP)
    if await email.sent_to(user.email):
        arrived.add(Channel.EMAIL)
    if await sms.sent_to(user.phone):
        arrived.add(Channel.SMS)
    if await push.sent_to(endpoint):
        arrived.add(Channel.PUSH)
    return arrived


@pytest.mark.parametrize("kind", [k for k in Kind if k is not Kind.SECURITY])
async def test_each_kind_goes_to_its_default_channels_and_follows_a_changed_one(
    database_url: str, redis: Redis, kind: Kind
) -> None:
    """Every kind and channel: with the defaults it arrives where DEFAULTS say; with one
    channel flipped, it arrives on exactly that channel changed."""
    assert await delivered_on(await make_user(), kind, redis) == DEFAULTS[kind]
    for channel in Channel:
        user = await make_user()
        await set_preference(user.id, kind, channel, channel not in DEFAULTS[kind])
        expected = DEFAULTS[kind] ^ {channel}
        assert await delivered_on(user, kind, redis) == expected, (kind, channel)


async def test_security_alerts_arrive_on_every_channel(database_url: str, redis: Redis) -> None:
    user = await make_user()
    # Texts go out for alerts that ask for them (security.alerts sets sms=True).
    email, sms = SandboxEmailProvider(redis), SandboxSmsProvider(redis)
    alert = Notice(user.id, "password_changed", "Password changed", "Was it you?", "s:1", sms=True)
    assert await deliver_notices([alert], email, sms) == 1
    assert [n.title for n in await centre.notifications_of(user.id)] == ["Password changed"]
    assert len(await email.sent_to(user.email)) == 1
    assert len(await sms.sent_to(user.phone)) == 1
    # The defaults of a security kind include every channel, and no row can say otherwise.
    assert DEFAULTS[Kind.SECURITY] == frozenset(Channel)
    assert await delivered_on(await make_user(), Kind.SECURITY, redis) == {
        Channel.IN_APP,
        Channel.EMAIL,
        Channel.PUSH,  # new_device does not ask for a text
    }


async def test_a_notice_with_in_app_off_is_delivered_once_and_not_listed(
    database_url: str, redis: Redis
) -> None:
    user = await make_user()
    await set_preference(user.id, Kind.MONEY_RECEIVED, Channel.IN_APP, False)
    email = SandboxEmailProvider(redis)
    notice = Notice(user.id, "money_received", "You received $1.00", "From @x", "once:1")
    assert await deliver_notices([notice], email) == 1
    assert await deliver_notices([notice], email) == 0  # the job ran twice
    assert await centre.notifications_of(user.id) == []
    assert await centre.unread_count(user.id) == 0
    assert len(await email.sent_to(user.email)) == 1
