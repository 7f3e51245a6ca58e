"""Verification levels over GraphQL: identity, documents, the compliance review queue."""

import base64
from typing import Any

from redis.asyncio import Redis

from tests.conftest import LiveServer
from tests.factories import make_user
from tests.graphql_client import call, token_for
from wallet.db.engine import connection
from wallet.notifications.email import SandboxEmailProvider
from wallet.notifications.money import deliver_notice
from wallet.users.models import User

VERIFICATION_FIELDS = "level nextStep latestReview { id status requestedLevel grantedLevel reason }"
RESULT = f"""__typename ... on VerificationPayload {{ verification {{ {VERIFICATION_FIELDS} }} }}
  ... on UserError {{ code message }} ... on ValidationError {{ fieldErrors {{ field code }} }}"""
IDENTITY = f"mutation($input: IdentityInput!) {{ submitIdentity(input: $input) {{ {RESULT} }} }}"
DOCUMENTS = f"mutation($input: DocumentsInput!) {{ submitDocuments(input: $input) {{ {RESULT} }} }}"
VERIFICATION = f"{{ verification {{ {VERIFICATION_FIELDS} }} }}"
QUEUE = """{ kycReviews { review { id requestedLevel } username currentLevel providerOutcome
  providerReasons legalName dateOfBirth address country documentType documentNumber
  documents { id kind contentType sizeBytes } } }"""
DOCUMENT = "query($id: ID!) { kycDocument(id: $id) }"
DECIDE = """mutation($id: ID!, $d: KycDecision!, $reason: String, $level: VerificationLevel) {
  decideKycReview(reviewId: $id, decision: $d, reason: $reason, level: $level) {
    __typename ... on KycDecisionPayload { review { status grantedLevel reason } }
    ... on UserError { code message } } }"""

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x01" * 64


def person(name: str = "Ada Lovelace", **overrides: str) -> dict[str, Any]:
    details = {
        "legalName": name,
        "dateOfBirth": "1990-12-10",
        "address": "12 St James's Square, London",
        "country": "gb",
    }
    return {"input": {**details, **overrides}}


def documents(number: str = "P1234567", document: bytes = PNG, kind: str = "image/png") -> Any:
    return {
        "input": {
            "documentType": "PASSPORT",
            "documentNumber": number,
            "document": {"contentType": kind, "contentBase64": base64.b64encode(document).decode()},
            "selfie": {
                "contentType": "image/jpeg",
                "contentBase64": base64.b64encode(JPEG).decode(),
            },
        }
    }


async def operator(live: LiveServer, role: str) -> str:
    user = await make_user()
    async with connection() as conn:
        await conn.execute("UPDATE app_user SET operator_role = $2 WHERE id = $1", user.id, role)
    return await token_for(live, user)


async def level_of(user: User) -> str:
    async with connection() as conn:
        return str(
            await conn.fetchval("SELECT verification_level FROM app_user WHERE id = $1", user.id)
        )


async def test_clear_identity_grants_basic_at_once_and_keeps_details_encrypted(
    live_server: LiveServer, redis: Redis
) -> None:
    user = await make_user()
    token = await token_for(live_server, user)
    before = await call(live_server, token, VERIFICATION)
    assert (before["level"], before["nextStep"]) == ("UNVERIFIED", "IDENTITY")
    done = await call(live_server, token, IDENTITY, person())
    verification = done["verification"]
    assert (verification["level"], verification["nextStep"]) == ("BASIC", "DOCUMENTS")
    assert verification["latestReview"]["status"] == "APPROVED"
    async with connection() as conn:
        stored = await conn.fetchrow("SELECT * FROM kyc_profile WHERE user_id = $1", user.id)
        audit_row = await conn.fetchval(
            "SELECT details::text FROM audit_log WHERE action = 'submitIdentity' AND actor_id = $1",
            user.id,
        )
        event = await conn.fetchval(
            "SELECT id FROM outbox_event WHERE topic = 'notice' AND payload->>'user_id' = $1",
            str(user.id),
        )
    assert stored["country"] == "GB"
    for column in ("legal_name", "date_of_birth", "address"):
        assert stored[column].startswith("v1.") and "Lovelace" not in stored[column]
    assert "Lovelace" not in audit_row and "1990" not in audit_row
    email = SandboxEmailProvider(redis)
    assert await deliver_notice(int(event), email=email) == 1
    assert await deliver_notice(int(event), email=email) == 0  # once
    async with connection() as conn:
        title = await conn.fetchval(
            "SELECT title FROM notification WHERE user_id = $1 AND kind = 'kyc'", user.id
        )
    assert title == "You are verified"
    again = await call(live_server, token, IDENTITY, person())
    assert again["fieldErrors"][0]["code"] == "WRONG_LEVEL"


async def test_bad_identity_details_are_typed_errors_with_nothing_written(
    live_server: LiveServer,
) -> None:
    user = await make_user()
    token = await token_for(live_server, user)
    cases = [
        (person(dateOfBirth="10/12/1990"), "dateOfBirth", "INVALID"),
        (person(dateOfBirth="2015-01-01"), "dateOfBirth", "TOO_YOUNG"),
        (person(dateOfBirth="2999-01-01"), "dateOfBirth", "INVALID"),
        (person(name="  "), "legalName", "INVALID"),
        (person(country="England"), "country", "INVALID"),
        (person(address="x"), "address", "INVALID"),
    ]
    for variables, field, code in cases:
        refused = await call(live_server, token, IDENTITY, variables)
        assert refused["fieldErrors"][0] == {"field": field, "code": code}, variables
    async with connection() as conn:
        assert (
            await conn.fetchval("SELECT count(*) FROM kyc_profile WHERE user_id = $1", user.id) == 0
        )
    assert await level_of(user) == "unverified"


async def test_rejected_identity_says_why_and_referred_waits_for_compliance(
    live_server: LiveServer,
) -> None:
    rejected, referred = await make_user(), await make_user()
    rejected_token = await token_for(live_server, rejected)
    refused = await call(live_server, rejected_token, IDENTITY, person("Sam Fraudster"))
    review = refused["verification"]["latestReview"]
    assert (review["status"], review["reason"]) == (
        "REJECTED",
        "No record of this person was found",
    )
    assert await level_of(rejected) == "unverified"

    token = await token_for(live_server, referred)
    waiting = await call(live_server, token, IDENTITY, person("Kim Refer"))
    assert waiting["verification"]["latestReview"]["status"] == "PENDING"
    assert waiting["verification"]["nextStep"] is None
    twice = await call(live_server, token, IDENTITY, person("Kim Refer"))
    assert twice["fieldErrors"][0]["code"] == "REVIEW_PENDING"

    support = await operator(live_server, "support")
    assert await call(live_server, support, QUEUE) is None  # least privilege
    compliance = await operator(live_server, "compliance")
    queue = await call(live_server, compliance, QUEUE)
    case = next(c for c in queue if c["username"] == referred.username)
    assert (case["legalName"], case["country"], case["providerOutcome"]) == (
        "Kim Refer",
        "GB",
        "REFER",
    )
    forbidden = await call(
        live_server, support, DECIDE, {"id": case["review"]["id"], "d": "APPROVE"}
    )
    assert forbidden["code"] == "FORBIDDEN"
    approved = await call(
        live_server, compliance, DECIDE, {"id": case["review"]["id"], "d": "APPROVE"}
    )
    assert approved["review"] == {"status": "APPROVED", "grantedLevel": "BASIC", "reason": None}
    assert await level_of(referred) == "basic"
    decided_twice = await call(
        live_server, compliance, DECIDE, {"id": case["review"]["id"], "d": "REJECT", "reason": "x"}
    )
    assert decided_twice["code"] == "NOT_FOUND"


async def test_documents_go_to_review_and_compliance_can_ask_for_more_then_approve_premium(
    live_server: LiveServer,
) -> None:
    user = await make_user()
    token = await token_for(live_server, user)
    too_early = await call(live_server, token, DOCUMENTS, documents())
    assert too_early["fieldErrors"][0]["code"] == "WRONG_LEVEL"
    await call(live_server, token, IDENTITY, person())
    fake_png = await call(live_server, token, DOCUMENTS, documents(document=b"GIF89a" + PNG))
    assert fake_png["fieldErrors"][0] == {"field": "document", "code": "UNSUPPORTED_TYPE"}
    expired = await call(live_server, token, DOCUMENTS, documents(number="000111"))
    assert expired["verification"]["latestReview"]["reason"] == "The document has expired"

    sent = await call(live_server, token, DOCUMENTS, documents(number="p 1234 5678"))
    assert sent["verification"]["latestReview"]["status"] == "PENDING"
    compliance = await operator(live_server, "compliance")
    case = next(
        c for c in await call(live_server, compliance, QUEUE) if c["username"] == user.username
    )
    assert case["documentNumber"] == "•••••5678"  # P12345678, masked
    assert [d["kind"] for d in case["documents"]] == ["ID_DOCUMENT", "SELFIE"]
    url = await call(live_server, compliance, DOCUMENT, {"id": case["documents"][0]["id"]})
    assert base64.b64decode(url.removeprefix("data:image/png;base64,")) == PNG
    async with connection() as conn:
        stored = await conn.fetchval(
            "SELECT content FROM kyc_document WHERE id = $1", int(case["documents"][0]["id"])
        )
    assert base64.b64encode(PNG).decode() not in stored  # encrypted at rest
    other = await token_for(live_server, await make_user())
    assert await call(live_server, other, DOCUMENT, {"id": case["documents"][0]["id"]}) is None

    no_reason = await call(
        live_server, compliance, DECIDE, {"id": case["review"]["id"], "d": "MORE_INFO"}
    )
    assert no_reason["code"] == "VALIDATION_ERROR"
    asked = await call(
        live_server,
        compliance,
        DECIDE,
        {"id": case["review"]["id"], "d": "MORE_INFO", "reason": "The photo is blurred"},
    )
    assert asked["review"]["status"] == "MORE_INFO"
    status = await call(live_server, token, VERIFICATION)
    assert (status["nextStep"], status["latestReview"]["reason"]) == (
        "DOCUMENTS",
        "The photo is blurred",
    )
    await call(live_server, token, DOCUMENTS, documents())
    case = next(
        c for c in await call(live_server, compliance, QUEUE) if c["username"] == user.username
    )
    wrong_level = await call(
        live_server,
        compliance,
        DECIDE,
        {"id": case["review"]["id"], "d": "APPROVE", "level": "BASIC"},
    )
    assert wrong_level["code"] == "VALIDATION_ERROR"
    premium = await call(
        live_server,
        compliance,
        DECIDE,
        {"id": case["review"]["id"], "d": "APPROVE", "level": "PREMIUM"},
    )
    assert premium["review"]["grantedLevel"] == "PREMIUM"
    assert await level_of(user) == "premium"
