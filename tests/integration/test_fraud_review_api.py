"""Held and blocked sends over GraphQL, and the compliance review queue."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import LiveServer
from tests.factories import make_user
from tests.graphql_client import call, send, step_up, token_for
from tests.ledger_helpers import wallet_cents
from wallet.db.engine import connection
from wallet.payments.funding import expire_stale_holds

pytestmark = pytest.mark.usefixtures("assert_ledger_sound")

QUEUE = """{ fraudReviews { id username recipientUsername transactionId decision status score
  amount currency hits { code score detail } } }"""
DECIDE = """mutation($id: ID!, $approve: Boolean!, $note: String!) {
  decideFraudReview(reviewId: $id, approve: $approve, note: $note) {
    __typename ... on FraudDecisionPayload { case { status note } }
    ... on UserError { code message } } }"""
RULE = """mutation($code: String!, $score: Int, $enabled: Boolean) {
  updateFraudRule(code: $code, score: $score, enabled: $enabled) {
    __typename ... on FraudRulePayload { rule { code score enabled } }
    ... on UserError { code message } } }"""
BLOCK = """mutation($kind: String!, $value: String!) {
  addToBlocklist(kind: $kind, value: $value, reason: "mule account") {
    __typename ... on UserError { code message } } }"""
STATUS = "query($id: ID!) { transaction(id: $id) { status } }"


async def officer(live: LiveServer, role: str = "compliance") -> str:
    user = await make_user()
    async with connection() as conn:
        await conn.execute("UPDATE app_user SET operator_role = $2 WHERE id = $1", user.id, role)
    return await token_for(live, user)


async def test_a_held_send_waits_then_compliance_releases_or_refuses_it(
    live_server: LiveServer,
) -> None:
    alice, bob, carol = await make_user(balance="2000.00"), await make_user(), await make_user()
    token = await token_for(live_server, alice)
    await step_up(live_server, token)  # large sends need it
    compliance, support = await officer(live_server), await officer(live_server, "support")
    forbidden = await call(live_server, support, RULE, {"code": "new_recipient", "score": 60})
    assert forbidden["code"] == "FORBIDDEN"
    tuned = await call(live_server, compliance, RULE, {"code": "new_recipient", "score": 60})
    assert tuned["rule"] == {"code": "new_recipient", "score": 60, "enabled": True}

    held = await send(live_server, token, bob.username, "900.00")
    assert held["transfer"]["status"] == "PENDING"
    refused = await send(live_server, token, carol.username, "850.00")
    assert refused["transfer"]["status"] == "PENDING"
    assert (await wallet_cents(alice.id), await wallet_cents(bob.id)) == (200_000, 0)
    async with connection() as conn:
        available = await conn.fetchval(
            "SELECT posted_credits - posted_debits - pending_debits FROM ledger_account "
            "WHERE owner_type = 'user' AND owner_id = $1 AND purpose = 'wallet'",
            alice.id,
        )
    assert available == 200_000 - 90_000 - 85_000  # set aside while waiting

    assert await call(live_server, support, QUEUE) is None
    queue = await call(live_server, compliance, QUEUE)
    by_recipient = {c["recipientUsername"]: c for c in queue}
    case = by_recipient[bob.username]
    assert (case["decision"], case["status"], case["score"], case["amount"]) == (
        "HOLD",
        "OPEN",
        60,
        "900.00",
    )
    assert [h["code"] for h in case["hits"]] == ["new_recipient"]

    released = await call(
        live_server, compliance, DECIDE, {"id": case["id"], "approve": True, "note": "called her"}
    )
    assert released["case"] == {"status": "APPROVED", "note": "called her"}
    rejected = await call(
        live_server,
        compliance,
        DECIDE,
        {"id": by_recipient[carol.username]["id"], "approve": False, "note": ""},
    )
    assert rejected["case"]["status"] == "REJECTED"
    again = await call(
        live_server, compliance, DECIDE, {"id": case["id"], "approve": False, "note": ""}
    )
    assert again["code"] == "NOT_FOUND"
    assert (
        await wallet_cents(alice.id),
        await wallet_cents(bob.id),
        await wallet_cents(carol.id),
    ) == (
        110_000,
        90_000,
        0,
    )
    statuses = [
        (await call(live_server, token, STATUS, {"id": t["transactionId"]}))["status"]
        for t in (case, by_recipient[carol.username])
    ]
    assert statuses == ["COMPLETED", "FAILED"]
    assert await call(live_server, compliance, QUEUE) == []


async def test_a_hold_no_one_reviews_expires_and_the_money_comes_back(
    live_server: LiveServer,
) -> None:
    alice, bob = await make_user(balance="1000.00"), await make_user()
    token = await token_for(live_server, alice)
    await step_up(live_server, token)
    compliance = await officer(live_server)
    await call(live_server, compliance, RULE, {"code": "new_recipient", "score": 60})
    held = await send(live_server, token, bob.username, "800.00")
    assert held["transfer"]["status"] == "PENDING"
    await expire_stale_holds(datetime.now(UTC) + timedelta(days=8))
    status = await call(live_server, token, STATUS, {"id": held["transfer"]["id"]})
    assert status["status"] == "EXPIRED"
    async with connection() as conn:
        review = await conn.fetchval("SELECT status FROM fraud_review WHERE user_id = $1", alice.id)
    assert review == "expired"
    assert (await wallet_cents(alice.id), await wallet_cents(bob.id)) == (100_000, 0)


async def test_a_blocked_send_is_refused_recorded_and_moves_nothing(
    live_server: LiveServer,
) -> None:
    alice, mule = await make_user(balance="50.00"), await make_user()
    token = await token_for(live_server, alice)
    compliance = await officer(live_server)
    bad_kind = await call(live_server, compliance, BLOCK, {"kind": "planet", "value": "x"})
    assert bad_kind["code"] == "VALIDATION_ERROR"
    added = await call(
        live_server, compliance, BLOCK, {"kind": "email", "value": mule.email.upper()}
    )
    assert added["__typename"] == "BlocklistPayload"
    refused = await send(live_server, token, mule.username, "10.00")
    assert (refused["__typename"], refused["code"]) == ("PaymentBlocked", "PAYMENT_BLOCKED")
    assert (await wallet_cents(alice.id), await wallet_cents(mule.id)) == (5_000, 0)
    async with connection() as conn:
        recorded = await conn.fetchrow(
            "SELECT decision, status, score FROM fraud_review WHERE user_id = $1", alice.id
        )
        sends = await conn.fetchval(
            "SELECT count(*) FROM money_transaction WHERE initiator_user_id = $1 AND type = 'send'",
            alice.id,
        )
    assert recorded is not None, await all_reviews()
    assert dict(recorded) == {"decision": "block", "status": "blocked", "score": 100}
    assert sends == 0


async def all_reviews() -> list[dict]:  # type: ignore[type-arg]
    async with connection() as conn:
        return [dict(r) for r in await conn.fetch("SELECT * FROM fraud_review")]
