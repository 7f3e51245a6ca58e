"""Finding 6 of the security review, second part: anyone could open a merchant.

Opening one now needs the owner verified to the basic level and a business profile;
the merchant starts pending, and nothing is settled to a bank until compliance
approves it (KYB-lite). A rejected merchant takes no payments; its money stays put.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis

from tests.conftest import LiveServer
from tests.factories import make_user
from tests.graphql_client import call, token_for
from tests.integration.test_kyc_api import IDENTITY, person
from tests.integration.test_settlement import BATCHES, sell, settled_shop
from tests.merchant_helpers import (
    BUSINESS,
    DECIDE,
    ONBOARD,
    REFUND,
    create,
    customer,
    merchant_cents,
    operator_token,
    pay,
)
from wallet.db.engine import connection, transaction
from wallet.gateway.sandbox import SandboxGateway
from wallet.merchants import bills, checkout, settlement
from wallet.merchants.errors import MerchantUnavailable
from wallet.money import Currency, Money

pytestmark = pytest.mark.usefixtures("assert_ledger_sound")

MINE = "{ myMerchants { id name approval } }"
APPLICATIONS = """{ merchantApplications { merchantId name legalName registrationNumber
  soleTrader businessAddress website description ownerUsername ownerVerificationLevel
  status } }"""
PEEK = "query($r: String!) { paymentRequest(reference: $r) { id } }"
SHOP = {"name": "Night Market", "mcc": "5999", "country": "US", "city": "Austin"}


async def merchant_count() -> int:
    async with connection() as conn:
        return int(await conn.fetchval("SELECT count(*) FROM merchant"))


async def test_an_unverified_user_cannot_open_a_merchant(live_server: LiveServer) -> None:
    """The reviewer's "anyone can open a merchant": a fresh account, full profile."""
    user = await make_user()
    token = await token_for(live_server, user)
    refused = await call(live_server, token, ONBOARD, {"input": {**SHOP, **BUSINESS}})
    assert refused["__typename"] == "ValidationError"
    assert refused["fieldErrors"] == [{"field": "verification", "code": "VERIFICATION_REQUIRED"}]
    assert await merchant_count() == 0
    # Basic verification through the identity provider (the sandbox clears this name).
    verified = await call(live_server, token, IDENTITY, person())
    assert verified["verification"]["level"] == "BASIC"
    opened = await call(live_server, token, ONBOARD, {"input": {**SHOP, **BUSINESS}})
    assert opened["__typename"] == "MerchantPayload"
    assert await call(live_server, token, MINE) == [
        {"id": opened["merchant"]["id"], "name": "Night Market", "approval": "PENDING"}
    ]


@pytest.mark.parametrize(
    ("profile", "field"),
    [
        ({"legalName": "X"}, "legalName"),
        ({"registrationNumber": None}, "registrationNumber"),
        ({"registrationNumber": "<script>"}, "registrationNumber"),
        ({"businessAddress": "here"}, "businessAddress"),
        ({"description": "", "website": None}, "description"),
        ({"description": "", "website": "javascript:alert(1)"}, "website"),
    ],
)
async def test_onboarding_needs_a_complete_business_profile(
    live_server: LiveServer, profile: dict[str, str | None], field: str
) -> None:
    user = await make_user()
    async with connection() as conn:
        await conn.execute(
            "UPDATE app_user SET verification_level = 'basic' WHERE id = $1", user.id
        )
    token = await token_for(live_server, user)
    refused = await call(live_server, token, ONBOARD, {"input": {**SHOP, **BUSINESS, **profile}})
    assert refused["fieldErrors"] == [{"field": field, "code": "INVALID"}]
    assert await merchant_count() == 0


async def test_a_sole_trader_needs_no_registration_number(live_server: LiveServer) -> None:
    user = await make_user()
    token = await token_for(live_server, user)
    await call(live_server, token, IDENTITY, person())
    business = {**BUSINESS, "registrationNumber": None, "soleTrader": True, "description": ""}
    opened = await call(
        live_server,
        token,
        ONBOARD,
        {"input": {**SHOP, **business, "website": "https://nightmarket.example"}},
    )
    assert opened["__typename"] == "MerchantPayload"
    (application,) = await call(live_server, await operator_token(live_server), APPLICATIONS)
    assert application == {
        "merchantId": opened["merchant"]["id"],
        "name": "Night Market",
        "legalName": "Corner Coffee LLC",
        "registrationNumber": None,
        "soleTrader": True,
        "businessAddress": BUSINESS["businessAddress"],
        "website": "https://nightmarket.example",
        "description": "",
        "ownerUsername": (await call(live_server, token, "{ me { username } }"))["username"],
        "ownerVerificationLevel": "BASIC",
        "status": "PENDING",
    }


async def test_settlement_waits_for_an_operators_approval(
    live_server: LiveServer, redis: Redis
) -> None:
    owner_token, merchant_id = await settled_shop(live_server, "000123456789", approved=False)
    _, buyer_token = await customer(live_server)
    await sell(live_server, owner_token, merchant_id, buyer_token, "10.00")  # pending may sell
    gateway = SandboxGateway(redis, day_seconds=live_server.settings.sandbox.day_seconds)
    assert await settlement.settle_due(gateway, datetime.now(UTC)) == []
    assert await settlement.settle_merchant(gateway, int(merchant_id), Currency.USD) is None
    assert await merchant_cents(merchant_id) == 1000  # the payable keeps the money
    assert await call(live_server, owner_token, BATCHES, {"m": merchant_id}) == []

    compliance = await operator_token(live_server)
    approved = await call(
        live_server,
        compliance,
        DECIDE,
        {"m": merchant_id, "d": "APPROVE", "r": "Registration number matches the registry"},
    )
    assert approved["application"]["status"] == "APPROVED"
    assert len(await settlement.settle_due(gateway, datetime.now(UTC))) == 1
    (batch,) = await call(live_server, owner_token, BATCHES, {"m": merchant_id})
    assert (batch["gross"], batch["net"]) == ("10.00", "9.41")


async def test_a_rejected_merchant_takes_no_payments_and_is_not_settled(
    live_server: LiveServer, redis: Redis
) -> None:
    owner_token, merchant_id = await settled_shop(live_server, "000123456789")
    buyer, buyer_token = await customer(live_server)
    sale = await sell(live_server, owner_token, merchant_id, buyer_token, "10.00")
    waiting = (await create(live_server, owner_token, merchant_id, amount="5.00"))["request"]
    static = (await create(live_server, owner_token, merchant_id))["request"]
    compliance = await operator_token(live_server)
    rejected = await call(
        live_server,
        compliance,
        DECIDE,
        {"m": merchant_id, "d": "REJECT", "r": "Sells goods we cannot accept"},
    )
    assert rejected["application"]["status"] == "REJECTED"
    assert (await call(live_server, owner_token, MINE))[0]["approval"] == "REJECTED"
    # Its open requests were cancelled: nothing to see, nothing to pay.
    for request in (waiting, static):
        assert await call(live_server, buyer_token, PEEK, {"r": request["id"]}) is None
    refused = await pay(live_server, buyer_token, waiting["id"])
    assert refused["fieldErrors"] == [{"field": "requestId", "code": "CANCELLED"}]
    assert (await create(live_server, owner_token, merchant_id, amount="1.00"))["code"] == (
        "FORBIDDEN"
    )
    # Nor through any other way a sale is made (a bill payment, say).
    async with connection() as conn:
        await conn.execute(
            "UPDATE merchant SET biller_reference_pattern = '[0-9]{8}' WHERE id = $1",
            int(merchant_id),
        )
    assert int(merchant_id) not in [b.merchant_id for b in await bills.billers()]
    with pytest.raises(MerchantUnavailable):
        async with transaction() as conn:
            await checkout.charge(
                conn,
                payer_id=buyer.id,
                merchant_id=int(merchant_id),
                amount=Money(100, Currency.USD),
                note="Bill 12345678",
            )
    gateway = SandboxGateway(redis, day_seconds=live_server.settings.sandbox.day_seconds)
    assert await settlement.settle_due(gateway, datetime.now(UTC)) == []
    assert await merchant_cents(merchant_id) == 1000
    # The customer can still be refunded from the money the platform kept.
    refund = await call(
        live_server,
        owner_token,
        REFUND,
        {
            "input": {
                "merchantId": merchant_id,
                "transactionId": sale,
                "amount": "10.00",
                "idempotencyKey": uuid.uuid4().hex,
            }
        },
    )
    assert refund["fullyRefunded"] is True
    assert await merchant_cents(merchant_id) == 0


async def test_only_compliance_decides_with_a_reason_and_every_decision_is_audited(
    live_server: LiveServer,
) -> None:
    owner_token, merchant_id = await settled_shop(live_server, "000123456789", approved=False)
    support = await operator_token(live_server, "support")
    variables = {"m": merchant_id, "d": "APPROVE", "r": "Looks fine"}
    assert (await call(live_server, support, DECIDE, variables))["code"] == "FORBIDDEN"
    assert (await call(live_server, owner_token, DECIDE, variables))["code"] == "FORBIDDEN"
    assert await call(live_server, support, APPLICATIONS) is None
    compliance = await operator_token(live_server)
    no_reason = await call(live_server, compliance, DECIDE, {**variables, "r": " "})
    assert no_reason["fieldErrors"] == [{"field": "reason", "code": "INVALID"}]
    assert (await call(live_server, compliance, DECIDE, variables))["__typename"] == (
        "MerchantDecisionPayload"
    )
    again = await call(live_server, compliance, DECIDE, variables)
    assert again["fieldErrors"] == [{"field": "decision", "code": "ALREADY_DECIDED"}]
    unknown = await call(live_server, compliance, DECIDE, {**variables, "m": "999999"})
    assert unknown["code"] == "NOT_FOUND"
    async with connection() as conn:
        decided = await conn.fetchrow(
            "SELECT approval_status, approval_reason, approval_decided_by, approval_decided_at "
            "FROM merchant WHERE id = $1",
            int(merchant_id),
        )
        audited = await conn.fetch(
            "SELECT actor_type, outcome, details FROM audit_log "
            "WHERE action = 'decideMerchantApplication' ORDER BY id"
        )
        notice = await conn.fetchval(
            "SELECT payload FROM outbox_event WHERE topic = 'notice' "
            "AND payload->>'kind' = 'merchant'"
        )
    assert (decided["approval_status"], decided["approval_reason"]) == ("approved", "Looks fine")
    assert decided["approval_decided_by"] is not None and decided["approval_decided_at"]
    assert [(a["actor_type"], a["outcome"]) for a in audited] == [
        ("operator", "Forbidden"),
        ("user", "Forbidden"),
        ("operator", "ValidationError"),
        ("operator", "MerchantDecisionPayload"),
        ("operator", "ValidationError"),
        ("operator", "NotFound"),
    ]
    # The audit row names the decision; the free-text reason lives on the merchant's
    # record (above), not in the immutable log (allow-listed arguments only).
    arguments = json.loads(audited[3]["details"])["arguments"]
    assert (arguments["merchantId"], arguments["decision"], arguments["reason"]) == (
        merchant_id,
        "APPROVE",
        "[redacted]",
    )
    assert json.loads(notice)["title"] == "Corner Coffee is approved"


async def test_a_merchant_waits_while_its_owner_has_a_sanctions_match_open(
    live_server: LiveServer,
) -> None:
    """KYB is a decision about the owner too (the KYC review found the class): it waits
    for compliance to clear an owner's possible sanctions match, as KYC approval does."""
    _, merchant_id = await settled_shop(live_server, "000123456789", approved=False)
    async with connection() as conn:
        owner_id = await conn.fetchval(
            "SELECT owner_user_id FROM merchant WHERE id = $1", int(merchant_id)
        )
        case_id = await conn.fetchval(
            "INSERT INTO aml_case (user_id, detector, summary, evidence) "
            "VALUES ($1, 'sanctions', 'name 92% alike a listed person', '{}') RETURNING id",
            owner_id,
        )
    compliance = await operator_token(live_server)
    approve = {"m": merchant_id, "d": "APPROVE", "r": "Profile checks out"}
    waiting = await call(
        live_server,
        compliance,
        DECIDE.replace("... on UserError", "... on SanctionsMatchOpen { caseId } ... on UserError"),
        approve,
    )
    assert (waiting["__typename"], waiting["caseId"]) == ("SanctionsMatchOpen", str(case_id))
    async with connection() as conn:
        assert (
            await conn.fetchval(
                "SELECT approval_status FROM merchant WHERE id = $1", int(merchant_id)
            )
            == "pending"
        )
    cleared = await call(
        live_server,
        compliance,
        """mutation($c: ID!, $r: String!) { clearSanctionsMatch(caseId: $c, reason: $r) {
           __typename } }""",
        {"c": str(case_id), "r": "Listed person born 1958; the owner was born 1991"},
    )
    assert cleared["__typename"] != "Forbidden", cleared
    assert (await call(live_server, compliance, DECIDE, approve))["__typename"] == (
        "MerchantDecisionPayload"
    )
