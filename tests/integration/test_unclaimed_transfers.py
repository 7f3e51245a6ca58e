"""Money sent to a phone or email with no wallet: escrow, invite, claim on verify, expiry."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from tests.conftest import LiveServer
from tests.factories import make_user
from tests.graphql_client import call, send, token_for
from tests.ledger_helpers import wallet_cents
from wallet.db.engine import connection
from wallet.notifications import money as money_notifications
from wallet.notifications.email import SandboxEmailProvider
from wallet.notifications.sms import SandboxSmsProvider
from wallet.transfers.unclaimed import expire_unclaimed

pytestmark = pytest.mark.usefixtures("assert_ledger_sound")

SEND_CODE = """mutation($c: ContactChannel!) { sendVerificationCode(channel: $c) {
  __typename ... on VerificationSentPayload { sentTo } ... on UserError { code } } }"""
VERIFY = """mutation($c: ContactChannel!, $code: String!) {
  verifyContact(channel: $c, code: $code) {
  __typename
  ... on ContactVerifiedPayload { contact claimedTransfers { id status amount direction } }
  ... on ValidationError { fieldErrors { field code } } } }"""


async def escrow_cents() -> int:
    async with connection() as conn:
        return int(
            await conn.fetchval(
                "SELECT posted_credits - posted_debits FROM ledger_balance "
                "WHERE code = 'system:USD:unclaimed_transfers'"
            )
        )


async def invite_event_id() -> int:
    async with connection() as conn:
        return int(
            await conn.fetchval("SELECT id FROM outbox_event WHERE topic = 'contact.invited'")
        )


async def test_sending_to_a_new_phone_escrows_invites_and_is_claimed_on_verification(
    live_server: LiveServer, redis: Redis
) -> None:
    sender = await make_user(balance="40.00")
    token = await token_for(live_server, sender)
    sent = await send(live_server, token, "+1 415 555 0177", "15.00", note="welcome!")
    assert sent["transfer"]["status"] == "PENDING"
    assert (await wallet_cents(sender.id), await escrow_cents()) == (2500, 1500)

    email, sms = SandboxEmailProvider(redis), SandboxSmsProvider(redis)
    assert await money_notifications.send_invite(await invite_event_id(), email=email, sms=sms) == (
        "sent"
    )
    (invite,) = await sms.sent_to("+14155550177")
    assert f"@{sender.username} sent you $15.00" in str(invite["body"])

    newcomer = await make_user(phone="+14155550177")
    new_token = await token_for(live_server, newcomer)
    assert await wallet_cents(newcomer.id) == 0  # not theirs until the phone is verified
    sent_to = await call(live_server, new_token, SEND_CODE, {"c": "PHONE"})
    assert sent_to == {"__typename": "VerificationSentPayload", "sentTo": "+14155550177"}
    wrong = await call(live_server, new_token, VERIFY, {"c": "PHONE", "code": "000000x"})
    assert wrong["fieldErrors"] == [{"field": "code", "code": "WRONG_CODE"}]
    code_message = (await sms.sent_to("+14155550177"))[-1]
    code = re.search(r"\b(\d{6})\b", str(code_message["body"])).group(1)  # type: ignore[union-attr]
    verified = await call(live_server, new_token, VERIFY, {"c": "PHONE", "code": code})
    assert verified["claimedTransfers"] == [
        {"id": sent["transfer"]["id"], "status": "COMPLETED", "amount": "15.00", "direction": "IN"}
    ]
    assert (await wallet_cents(newcomer.id), await escrow_cents()) == (1500, 0)
    # The code is single use.
    again = await call(live_server, new_token, VERIFY, {"c": "PHONE", "code": code})
    assert again["__typename"] == "ValidationError"


async def test_unclaimed_transfer_expires_and_returns_to_the_sender(
    live_server: LiveServer,
) -> None:
    sender = await make_user(balance="10.00")
    token = await token_for(live_server, sender)
    sent = await send(live_server, token, "friend@example.org", "4.00")
    assert await wallet_cents(sender.id) == 600
    assert await expire_unclaimed(datetime.now(UTC) + timedelta(days=1)) == []
    assert await expire_unclaimed(datetime.now(UTC) + timedelta(days=15)) == [
        int(sent["transfer"]["id"])
    ]
    assert (await wallet_cents(sender.id), await escrow_cents()) == (1000, 0)
    async with connection() as conn:
        status = await conn.fetchval(
            "SELECT status FROM money_transaction WHERE id = $1", int(sent["transfer"]["id"])
        )
    assert status == "expired"
    # Verifying the email later claims nothing: the money already went back.
    async with connection() as conn:
        from wallet.transfers.unclaimed import claim_for

        newcomer = await make_user(email="friend@example.org")
        assert await claim_for(conn, newcomer.id, "friend@example.org") == []


async def test_sending_to_your_own_unverified_contact_is_refused(live_server: LiveServer) -> None:
    sender = await make_user(balance="10.00")
    token = await token_for(live_server, sender)
    result = await send(live_server, token, sender.email.upper(), "1.00")
    assert result["fieldErrors"][0]["field"] == "recipient"
    assert await escrow_cents() == 0


async def test_verification_codes_are_rate_limited(live_server: LiveServer) -> None:
    user = await make_user()
    token = await token_for(live_server, user)
    results = [await call(live_server, token, SEND_CODE, {"c": "EMAIL"}) for _ in range(6)]
    assert [r["__typename"] for r in results] == ["VerificationSentPayload"] * 5 + ["RateLimited"]
