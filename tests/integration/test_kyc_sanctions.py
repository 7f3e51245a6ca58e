"""Issue 18, item 3: the KYC review shows the person's open AML cases and held payments;
a possible sanctions match refuses approval until a compliance officer clears it with a
reason; a name listed after approval freezes the wallet until cleared; and the person is
told nothing about any of it (no tipping off), at every step."""

import asyncio
import json
import re
from datetime import date
from typing import Any

import pytest
from redis.asyncio import Redis

from tests.conftest import LiveServer
from tests.factories import make_user
from tests.graphql_client import add_card, call, fund, gql, send, step_up, token_for
from tests.integration.test_chargebacks import chargeback, wallet_status
from tests.integration.test_kyc_api import DOCUMENTS, IDENTITY, documents, level_of, person
from wallet.aml import monitor
from wallet.db.engine import connection
from wallet.kyc import service as kyc
from wallet.kyc.identity import PersonDetails, SandboxIdentityProvider
from wallet.notifications.email import SandboxEmailProvider
from wallet.notifications.money import deliver_notice
from wallet.payments import chargebacks
from wallet.users.models import User

pytestmark = pytest.mark.usefixtures("assert_ledger_sound")

CASE_FIELDS = """id detector status summary evidence createdAt walletStatus frozenReason
  closedReason clearedBy clearedAt blocksApproval"""
QUEUE = f"""{{ kycReviews {{ review {{ id requestedLevel }} username
  amlCases {{ {CASE_FIELDS} }} fraudReviews {{ id status amount currency createdAt }} }} }}"""
DECIDE = """mutation($id: ID!, $d: KycDecision!, $reason: String, $level: VerificationLevel) {
  decideKycReview(reviewId: $id, decision: $d, reason: $reason, level: $level) {
    __typename ... on KycDecisionPayload { review { status grantedLevel reason } }
    ... on SanctionsMatchOpen { caseId }
    ... on ValidationError { fieldErrors { field code } }
    ... on UserError { code message } } }"""
CLEAR = f"""mutation($id: ID!, $reason: String!) {{ clearSanctionsMatch(caseId: $id,
  reason: $reason) {{ __typename ... on AmlCasePayload {{ case {{ {CASE_FIELDS} }} }}
  ... on ValidationError {{ fieldErrors {{ field code }} }}
  ... on UserError {{ code message }} }} }}"""
CLOSE = """mutation($id: ID!, $reason: String!) { closeAmlCase(caseId: $id, reason: $reason) {
  __typename ... on ValidationError { fieldErrors { field code } }
  ... on UserError { code message } } }"""
AML_CASES = f"{{ amlCases {{ {CASE_FIELDS} username }} }}"
RULE = """mutation($code: String!, $score: Int) { updateFraudRule(code: $code, score: $score) {
  __typename } }"""

# What would tip the person off. Word-bounded: "Sanctionov" is a name, not a tip.
TIP_OFF = re.compile(
    r"\bsanction(s|ed)?\b|\baml\b|launder|\bcases?\b|watch ?list|suspicious|\bsars?\b"
    r"|\bscreen(ed|ing)\b|\blisted\b|\bmatch(es|ed)?\b",
    re.IGNORECASE,
)
PERSONS_APP = """{ verification { level nextStep latestReview { status reason } }
  notifications { kind title body } wallet { status } }"""
WAIT = "We need a little more time to verify you"
REASON = "Listed person born 1961 in Minsk; this customer born 1990 in Leeds, another person"


async def operator(live: LiveServer, role: str) -> tuple[User, str]:
    user = await make_user()
    async with connection() as conn:
        await conn.execute("UPDATE app_user SET operator_role = $2 WHERE id = $1", user.id, role)
    return user, await token_for(live, user)


async def persons_view(live: LiveServer, token: str, user: User, redis: Redis) -> dict[str, Any]:
    """Everything the person can see or is sent, asserted free of any tip-off: the app's
    view of them, their data export, their rows of the notifications table and the
    emails sent to them (the notices delivered as the worker does)."""
    async with connection() as conn:
        events = await conn.fetch(
            "SELECT id FROM outbox_event WHERE topic = 'notice' AND payload->>'user_id' = $1 "
            "ORDER BY id",
            str(user.id),
        )
    mailbox = SandboxEmailProvider(redis)
    for event in events:
        await deliver_notice(int(event["id"]), email=mailbox)
    async with connection() as conn:
        rows = await conn.fetch("SELECT * FROM notification WHERE user_id = $1", user.id)
    async with live.client() as http:
        app = await gql(http, PERSONS_APP, token=token)
        export = await http.get(
            "/export/my-data.json", headers={"authorization": f"Bearer {token}"}
        )
    assert "errors" not in app and export.status_code == 200, (app, export.text)
    view = {
        "app": app["data"],
        "export": export.json(),
        "notification_rows": [dict(r) for r in rows],
        "emails": await mailbox.sent_to(user.email),
    }
    text = json.dumps(view, default=str)
    assert TIP_OFF.search(text) is None, TIP_OFF.search(text)
    return view


def titles(view: dict[str, Any]) -> list[str]:
    return [n["title"] for n in view["app"]["notifications"]]


async def review_item(live: LiveServer, token: str, user: User) -> dict[str, Any]:
    return next(c for c in await call(live, token, QUEUE) if c["username"] == user.username)


async def test_approval_waits_until_compliance_clears_the_sanctions_match_and_he_is_never_told(
    live_server: LiveServer, redis: Redis
) -> None:
    ivan, friend = await make_user(balance="2000.00"), await make_user()
    token = await token_for(live_server, ivan)
    officer, compliance = await operator(live_server, "compliance")
    support_user, support = await operator(live_server, "support")
    # A payment of his that the fraud rules hold, for the review to show.
    await call(live_server, compliance, RULE, {"code": "new_recipient", "score": 60})
    await step_up(live_server, token)
    held = await send(live_server, token, friend.username, "900.00")
    assert held["transfer"]["status"] == "PENDING"

    submitted = await call(live_server, token, IDENTITY, person("Ivan Sanctionov"))
    # A clear check would grant basic at once: a possible match waits for compliance.
    assert (submitted["verification"]["level"], submitted["verification"]["nextStep"]) == (
        "UNVERIFIED",
        None,
    )
    assert submitted["verification"]["latestReview"]["status"] == "PENDING"
    view = await persons_view(live_server, token, ivan, redis)
    assert view["app"]["wallet"]["status"] == "frozen"
    assert WAIT in titles(view) and WAIT in [e["subject"] for e in view["emails"]]
    assert (await send(live_server, token, friend.username, "1.00"))["code"] == "WALLET_UNAVAILABLE"
    assert await monitor.run() == []  # the case is already open: no second one

    item = await review_item(live_server, compliance, ivan)
    [case] = item["amlCases"]
    assert (case["detector"], case["status"], case["blocksApproval"]) == ("SANCTIONS", "OPEN", True)
    assert (case["evidence"]["listed_name"], case["evidence"]["similarity"]) == (
        "Ivan Sanctionov",
        1.0,
    )
    assert case["walletStatus"] == "FROZEN" and f"#{case['id']}" in case["frozenReason"]
    assert [(f["status"], f["amount"], f["currency"]) for f in item["fraudReviews"]] == [
        ("OPEN", "900.00", "USD")
    ]

    review_id = item["review"]["id"]
    refused = await call(live_server, compliance, DECIDE, {"id": review_id, "d": "APPROVE"})
    assert (refused["__typename"], refused["code"], refused["caseId"]) == (
        "SanctionsMatchOpen",
        "SANCTIONS_MATCH_OPEN",
        case["id"],
    )
    assert "clear" in refused["message"]
    assert await level_of(ivan) == "unverified"

    by_support = await call(live_server, support, CLEAR, {"id": case["id"], "reason": REASON})
    assert by_support["code"] == "FORBIDDEN"
    no_reason = await call(live_server, compliance, CLEAR, {"id": case["id"], "reason": " ok "})
    assert no_reason["fieldErrors"] == [{"field": "reason", "code": "REQUIRED"}]
    # Closing is not a way round it: a match is cleared with a reason, or stays open.
    closed = await call(live_server, compliance, CLOSE, {"id": case["id"], "reason": "done"})
    assert closed["fieldErrors"] == [{"field": "caseId", "code": "SANCTIONS_MATCH"}]
    still = await call(live_server, compliance, DECIDE, {"id": review_id, "d": "APPROVE"})
    assert still["__typename"] == "SanctionsMatchOpen"
    await persons_view(live_server, token, ivan, redis)

    cleared = (await call(live_server, compliance, CLEAR, {"id": case["id"], "reason": REASON}))[
        "case"
    ]
    assert (cleared["status"], cleared["closedReason"], cleared["clearedBy"]) == (
        "CLOSED",
        REASON,
        officer.username,
    )
    assert cleared["clearedAt"] is not None and cleared["blocksApproval"] is False
    assert (cleared["walletStatus"], cleared["frozenReason"]) == ("ACTIVE", None)
    async with connection() as conn:
        audited = await conn.fetch(
            "SELECT actor_id, outcome, details FROM audit_log "
            "WHERE action = 'clearSanctionsMatch' ORDER BY id"
        )
    assert [(r["actor_id"], r["outcome"]) for r in audited] == [
        (support_user.id, "Forbidden"),
        (officer.id, "ValidationError"),
        (officer.id, "AmlCasePayload"),
    ]
    assert json.loads(audited[-1]["details"])["arguments"]["caseId"] == case["id"]
    # The approver sees who cleared it and why.
    [seen] = (await review_item(live_server, compliance, ivan))["amlCases"]
    assert (seen["clearedBy"], seen["closedReason"], seen["blocksApproval"]) == (
        officer.username,
        REASON,
        False,
    )

    approved = await call(live_server, compliance, DECIDE, {"id": review_id, "d": "APPROVE"})
    assert approved["review"] == {"status": "APPROVED", "grantedLevel": "BASIC", "reason": None}
    assert await level_of(ivan) == "basic"
    view = await persons_view(live_server, token, ivan, redis)
    assert view["app"]["wallet"]["status"] == "active"
    assert {"Thanks for waiting", "You are verified", WAIT} <= set(titles(view))
    assert (await send(live_server, token, friend.username, "1.00"))["transfer"]["status"] == (
        "COMPLETED"
    )


async def test_rejecting_or_asking_for_more_stays_possible_in_words_that_tip_no_one_off(
    live_server: LiveServer, redis: Redis
) -> None:
    ivan = await make_user()
    token = await token_for(live_server, ivan)
    _, compliance = await operator(live_server, "compliance")
    await call(live_server, token, IDENTITY, person("SANCTIONOV, Ivan"))
    item = await review_item(live_server, compliance, ivan)
    assert [c["blocksApproval"] for c in item["amlCases"]] == [True]

    for revealing in (
        "Your name is on a sanctions list",
        "Pending AML review",
        "Possible money-laundering concern",
        "We are investigating your account",
    ):
        refused = await call(
            live_server,
            compliance,
            DECIDE,
            {"id": item["review"]["id"], "d": "MORE_INFO", "reason": revealing},
        )
        assert refused["fieldErrors"] == [{"field": "reason", "code": "TIPPING_OFF"}], revealing
    asked = await call(
        live_server,
        compliance,
        DECIDE,
        {"id": item["review"]["id"], "d": "MORE_INFO", "reason": "Check your date of birth"},
    )
    assert asked["review"]["status"] == "MORE_INFO"
    view = await persons_view(live_server, token, ivan, redis)
    assert view["app"]["verification"]["latestReview"]["reason"] == "Check your date of birth"

    again = await call(live_server, token, IDENTITY, person("SANCTIONOV, Ivan"))
    assert again["verification"]["latestReview"]["status"] == "PENDING"
    item = await review_item(live_server, compliance, ivan)
    assert len(item["amlCases"]) == 1  # the same open case, not a second one
    rejected = await call(
        live_server,
        compliance,
        DECIDE,
        {"id": item["review"]["id"], "d": "REJECT", "reason": "We could not confirm who you are"},
    )
    assert rejected["review"]["status"] == "REJECTED"
    assert await level_of(ivan) == "unverified"
    view = await persons_view(live_server, token, ivan, redis)
    assert view["app"]["wallet"]["status"] == "frozen"  # the match is still open


async def test_a_cleared_match_is_not_raised_again_when_his_documents_follow(
    live_server: LiveServer, redis: Redis
) -> None:
    """The tester's path: basic, then the documents for full verification."""
    ivan = await make_user()
    token = await token_for(live_server, ivan)
    _, compliance = await operator(live_server, "compliance")
    await call(live_server, token, IDENTITY, person("Ivan Sanctionov"))
    item = await review_item(live_server, compliance, ivan)
    await call(live_server, compliance, CLEAR, {"id": item["amlCases"][0]["id"], "reason": REASON})
    await call(live_server, compliance, DECIDE, {"id": item["review"]["id"], "d": "APPROVE"})

    sent = await call(live_server, token, DOCUMENTS, documents())
    assert sent["verification"]["latestReview"]["status"] == "PENDING"
    assert await monitor.run() == []  # the profile changed; the same identity stays cleared
    item = await review_item(live_server, compliance, ivan)
    assert item["review"]["requestedLevel"] == "FULL"
    assert [(c["status"], c["blocksApproval"]) for c in item["amlCases"]] == [("CLOSED", False)]
    full = await call(live_server, compliance, DECIDE, {"id": item["review"]["id"], "d": "APPROVE"})
    assert full["review"]["grantedLevel"] == "FULL"
    view = await persons_view(live_server, token, ivan, redis)
    assert view["app"]["verification"]["level"] == "FULL"
    assert view["app"]["wallet"]["status"] == "active"


async def test_a_name_listed_after_approval_freezes_the_wallet_until_compliance_clears_it(
    live_server: LiveServer, redis: Redis
) -> None:
    petra, friend = await make_user(balance="100.00"), await make_user()
    token = await token_for(live_server, petra)
    officer, compliance = await operator(live_server, "compliance")
    granted = await call(live_server, token, IDENTITY, person("Petra Quietly"))
    assert granted["verification"]["level"] == "BASIC"
    assert await monitor.run() == []
    async with connection() as conn:  # the list changes: her name joins it
        await conn.execute(
            "INSERT INTO sanctions_entry (name, program, listed_at) "
            "VALUES ('QUIETLY, Petra', 'SANDBOX-NEW', current_date)"
        )
    [case_id] = await monitor.run()
    view = await persons_view(live_server, token, petra, redis)
    assert view["app"]["wallet"]["status"] == "frozen"
    assert view["app"]["verification"]["level"] == "BASIC"
    assert WAIT in titles(view)
    assert (await send(live_server, token, friend.username, "5.00"))["code"] == "WALLET_UNAVAILABLE"
    case = next(
        c for c in await call(live_server, compliance, AML_CASES) if c["id"] == str(case_id)
    )
    assert (case["detector"], case["walletStatus"], case["blocksApproval"]) == (
        "SANCTIONS",
        "FROZEN",
        True,
    )

    cleared = await call(live_server, compliance, CLEAR, {"id": str(case_id), "reason": REASON})
    assert (cleared["case"]["walletStatus"], cleared["case"]["clearedBy"]) == (
        "ACTIVE",
        officer.username,
    )
    assert (await send(live_server, token, friend.username, "5.00"))["transfer"]["status"] == (
        "COMPLETED"
    )
    async with connection() as conn:  # another change of the list screens everyone again
        await conn.execute(
            "INSERT INTO sanctions_entry (name, program, listed_at) "
            "VALUES ('Someone Else Entirely', 'SANDBOX-NEW', current_date)"
        )
    assert await monitor.run() == []  # cleared for her identity: not raised again
    view = await persons_view(live_server, token, petra, redis)
    assert view["app"]["wallet"]["status"] == "active"
    assert "Thanks for waiting" in titles(view)


async def test_clearing_a_match_leaves_an_operators_own_freeze_in_place(
    live_server: LiveServer,
) -> None:
    ivan = await make_user()
    token = await token_for(live_server, ivan)
    _, compliance = await operator(live_server, "compliance")
    await call(live_server, token, IDENTITY, person("Ivan Sanctionov"))
    [case] = (await review_item(live_server, compliance, ivan))["amlCases"]
    freeze = """mutation($id: ID!) { freezeWallet(caseId: $id, reason: "Card fraud report") {
      __typename } }"""
    assert (await call(live_server, compliance, freeze, {"id": case["id"]}))["__typename"] == (
        "AmlCasePayload"
    )
    cleared = await call(live_server, compliance, CLEAR, {"id": case["id"], "reason": REASON})
    assert (cleared["case"]["walletStatus"], cleared["case"]["frozenReason"]) == (
        "FROZEN",
        "Card fraud report",
    )
    twice = await call(live_server, compliance, CLEAR, {"id": case["id"], "reason": REASON})
    assert twice["code"] == "NOT_FOUND"
    async with connection() as conn:
        with pytest.raises(Exception, match="cleared sanctions match cannot be changed"):
            await conn.execute(
                "UPDATE aml_case SET closed_reason = 'rewritten' WHERE id = $1", int(case["id"])
            )


async def owing_a_chargeback(live: LiveServer, redis: Redis, friend: User) -> tuple[User, str]:
    """Someone whose card top-up was charged back after they spent it: $30.00 owed, the
    wallet restricted until money coming in repays it."""
    user = await make_user()
    token = await token_for(live, user)
    top_up = (await fund(live, token, await add_card(live, token), "50.00"))["transaction"]
    await send(live, token, friend.username, "30.00")
    assert await chargeback(live, redis, top_up["id"]) == ["applied", "duplicate"]
    assert await wallet_status(user.id) == ("restricted", "chargeback")
    return user, token


async def test_a_match_on_a_wallet_restricted_for_a_chargeback_keeps_money_in_until_cleared(
    live_server: LiveServer, redis: Redis
) -> None:
    friend = await make_user(balance="100.00")
    friend_token = await token_for(live_server, friend)
    _, compliance = await operator(live_server, "compliance")

    # Repaying the debt does not free a wallet the match froze.
    repaid, token = await owing_a_chargeback(live_server, redis, friend)
    await call(live_server, token, IDENTITY, person("Ivan Sanctionov"))
    assert (await wallet_status(repaid.id))[0] == "frozen"
    await send(live_server, friend_token, repaid.username, "30.00")
    assert await chargebacks.repay_debts(repaid.id) == 3000
    assert await wallet_status(repaid.id) == ("frozen", None)
    [case] = (await review_item(live_server, compliance, repaid))["amlCases"]
    cleared = await call(live_server, compliance, CLEAR, {"id": case["id"], "reason": REASON})
    assert cleared["case"]["walletStatus"] == "ACTIVE"

    # Clearing the match does not free a wallet that still owes.
    owing, token = await owing_a_chargeback(live_server, redis, friend)
    await call(live_server, token, IDENTITY, person("Ivan Sanctionov"))
    [case] = (await review_item(live_server, compliance, owing))["amlCases"]
    cleared = await call(live_server, compliance, CLEAR, {"id": case["id"], "reason": REASON})
    assert cleared["case"]["walletStatus"] == "RESTRICTED"
    assert await wallet_status(owing.id) == ("restricted", "chargeback")
    await send(live_server, friend_token, owing.username, "30.00")
    assert await chargebacks.repay_debts(owing.id) == 3000
    assert await wallet_status(owing.id) == ("active", None)


@pytest.mark.usefixtures("database_url")
async def test_approvals_racing_the_monitor_never_leave_a_listed_person_free_to_send() -> None:
    """Names join the list while operators approve: each approval either sees the new
    case and is refused, or comes first and the case then freezes the wallet."""
    officer = await make_user()
    people = []
    for n, first in enumerate(("Alma", "Bruno", "Clio", "Dario", "Edda", "Fritz", "Gala", "Hugo")):
        user = await make_user()
        details = PersonDetails(f"{first} Refer", date(1980, 1, 1 + n), "1 Main Street", "US")
        status = await kyc.submit_identity(
            user.id, details, SandboxIdentityProvider(), date(2026, 1, 1)
        )
        assert status.latest_review is not None and status.latest_review.status == "pending"
        people.append((user, status.latest_review.id, first))
    assert await monitor.run() == []
    async with connection() as conn:
        await conn.executemany(
            "INSERT INTO sanctions_entry (name, program, listed_at) "
            "VALUES ($1, 'SANDBOX-RACE', current_date)",
            [(f"Refer, {first}",) for _, _, first in people],
        )

    async def approve(review_id: int, delay: float) -> str:
        await asyncio.sleep(delay)
        try:
            await kyc.decide(review_id, officer.id, kyc.Decision.APPROVE)
        except kyc.SanctionsMatchOpen:
            return "refused"
        return "approved"

    opened, *outcomes = await asyncio.gather(
        # Spread over the monitor's pass, so some come before its cases and some after.
        monitor.run(),
        *(approve(review_id, n * 0.05) for n, (_, review_id, _) in enumerate(people)),
    )
    assert len(opened) == len(people)
    async with connection() as conn:
        for (user, review_id, _), outcome in zip(people, outcomes, strict=True):
            state = await conn.fetchrow(
                "SELECT u.verification_level, w.status, w.frozen_by_case, r.status AS review, "
                "(SELECT id FROM aml_case c WHERE c.user_id = u.id AND c.status = 'open') "
                "AS case_id "
                "FROM app_user u JOIN wallet w ON w.user_id = u.id "
                "JOIN kyc_review r ON r.id = $2 WHERE u.id = $1",
                user.id,
                review_id,
            )
            assert state["case_id"] is not None
            assert (state["status"], state["frozen_by_case"]) == ("frozen", state["case_id"])
            expected = ("basic", "approved") if outcome == "approved" else ("unverified", "pending")
            assert (state["verification_level"], state["review"]) == expected, outcome
