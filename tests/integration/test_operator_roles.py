"""Least privilege: each operator surface answers only the roles that need it.

The fields named here are the operator-only part of the authorization coverage
(`tests/unit/test_authorization_coverage.py` reads them from READS and WRITES)."""

from datetime import date
from typing import Any

import pytest

from tests.conftest import LiveServer
from tests.factories import make_user
from tests.graphql_client import call, token_for
from wallet.aml import cases as aml
from wallet.aml import monitor
from wallet.db.engine import connection, transaction
from wallet.kyc import service as kyc
from wallet.kyc.identity import DocumentDetails, PersonDetails, SandboxIdentityProvider

ROLES = ("support", "compliance", "mediator", "admin")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x01" * 64

# Each read: who gets data (others get null). `$variables` name the real objects the
# `objects` fixture makes (a read of an id that does not exist is null for everyone).
READS = {
    "{ ledgerCheck { ok } }": {"support", "compliance", "admin"},
    "{ chartOfAccounts { code } }": {"support", "compliance", "admin"},
    "{ reconciliationRuns { id } }": {"support", "compliance", "admin"},
    "query($journalEntry: ID!) { journalEntry(id: $journalEntry) { id } }": {
        "support",
        "compliance",
        "admin",
    },
    '{ journalEntries(accountId: "1", transactionId: "1", reference: "x") { id } }': {
        "support",
        "compliance",
        "admin",
    },
    '{ accountStatement(accountId: "1") { __typename } }': {"support", "compliance", "admin"},
    "{ ledgerAccounts { id } }": {"support", "compliance", "admin"},
    "{ merchantFees { id } }": {"support", "compliance", "admin"},
    "{ systemStatus { queueDepth } }": {"support", "compliance", "admin"},
    '{ reconciliationItems(runId: "999999") { id } }': {"support", "compliance", "admin"},
    "{ reconciliationBreaks { id } }": {"support", "compliance", "admin"},
    "{ safeguardingChecks { currency } }": {"support", "compliance", "admin"},
    "{ ledgerAdjustments(openOnly: false) { id } }": {"support", "compliance", "admin"},
    '{ trialBalance(currency: "USD", asOf: "2026-01-01") { __typename } }': {
        "support",
        "compliance",
        "admin",
    },
    '{ balanceSheet(currency: "USD", asOf: "2026-01-01") { __typename } }': {
        "support",
        "compliance",
        "admin",
    },
    '{ profitAndLoss(currency: "USD", from: "2026-01-01", to: "2026-01-31") { __typename } }': {
        "support",
        "compliance",
        "admin",
    },
    '{ cashFlow(currency: "USD", from: "2026-01-01", to: "2026-01-31") { __typename } }': {
        "support",
        "compliance",
        "admin",
    },
    "{ auditLog { id } }": {"compliance", "admin"},
    "{ kycReviews { username } }": {"compliance", "admin"},
    "{ kycReviews { amlCases { id blocksApproval } fraudReviews { id } } }": {
        "compliance",
        "admin",
    },
    "{ fraudReviews { id } }": {"compliance", "admin"},
    "{ fraudRules { code } }": {"compliance", "admin"},
    "{ amlCases { id } }": {"compliance", "admin"},
    "{ disputesToDecide { id } }": {"mediator", "admin"},
    "{ merchantApplications { merchantId } }": {"compliance", "admin"},
    "query($kycDocument: ID!) { kycDocument(id: $kycDocument) }": {"compliance", "admin"},
    "query($sarCase: ID!) { sarDocument(caseId: $sarCase) }": {"compliance", "admin"},
}

# Each write, on an id that does not exist: who gets past the role check (NOT_FOUND or a
# validation error) and who is refused (FORBIDDEN). Nothing exists, so nothing changes.
WRITES = {
    'mutation { approveAdjustment(adjustmentId: "999999") '
    "{ __typename ... on UserError { code } } }": {"admin"},
    'mutation { rejectAdjustment(adjustmentId: "999999", note: "x") '
    "{ __typename ... on UserError { code } } }": {"admin"},
    'mutation { proposeAdjustment(debitAccountId: "999998", creditAccountId: "999999", '
    'amount: "1.00", currency: "USD", reason: "x") { __typename ... on UserError { code } } }': {
        "admin"
    },
    'mutation { proposeBreakAdjustment(breakId: "999999", counterAccountId: "1", reason: "x") '
    "{ __typename ... on UserError { code } } }": {"admin"},
    'mutation { matchBreakByHand(breakId: "999999", note: "x") '
    "{ __typename ... on UserError { code } } }": {"admin"},
    'mutation { reconcileDay(day: "2026-01-01") { __typename ... on UserError { code } } }': {
        "admin"
    },
    'mutation { reverseTransaction(transactionId: "999999", reason: "x") '
    "{ __typename ... on UserError { code } } }": {"admin"},
    'mutation { decideKycReview(reviewId: "999999", decision: APPROVE) '
    "{ __typename ... on UserError { code } } }": {"compliance", "admin"},
    'mutation { decideFraudReview(reviewId: "999999", approve: true) '
    "{ __typename ... on UserError { code } } }": {"compliance", "admin"},
    'mutation { closeAmlCase(caseId: "999999", reason: "x") '
    "{ __typename ... on UserError { code } } }": {"compliance", "admin"},
    'mutation { freezeWallet(caseId: "999999", reason: "x") '
    "{ __typename ... on UserError { code } } }": {"compliance", "admin"},
    'mutation { clearSanctionsMatch(caseId: "999999", reason: "Different date of birth") '
    "{ __typename ... on UserError { code } } }": {"compliance", "admin"},
    'mutation { decideMerchantApplication(merchantId: "999999", decision: APPROVE, '
    'reason: "Registry checked") { __typename ... on UserError { code } } }': {
        "compliance",
        "admin",
    },
    'mutation { escalateAmlCase(caseId: "999999", narrative: "Three sends just under the '
    'threshold") { __typename ... on UserError { code } } }': {"compliance", "admin"},
    'mutation { unfreezeWallet(caseId: "999999") { __typename ... on UserError { code } } }': {
        "compliance",
        "admin",
    },
    'mutation { decideDispute(disputeId: "999999", refundAmount: "0.00") '
    "{ __typename ... on UserError { code } } }": {"mediator", "admin"},
    'mutation { setMerchantFees(merchantId: "999999", percentBp: 250, fixed: []) '
    "{ __typename ... on UserError { code } } }": {"admin"},
    # Refused inputs: who gets past the role check sees a validation error.
    'mutation { updateFraudRule(code: "velocity", score: 5000) '
    "{ __typename ... on UserError { code } } }": {"compliance", "admin"},
    'mutation { addToBlocklist(kind: "nonsense", value: "x", reason: "x") '
    "{ __typename ... on UserError { code } } }": {"compliance", "admin"},
}


@pytest.fixture
async def tokens(live_server: LiveServer) -> dict[str, str]:
    found = {}
    for role in (*ROLES, None):
        user = await make_user()
        if role:
            async with connection() as conn:
                await conn.execute(
                    "UPDATE app_user SET operator_role = $2 WHERE id = $1", user.id, role
                )
        found[role or "customer"] = await token_for(live_server, user)
    return found


@pytest.fixture
async def objects(database_url: str) -> dict[str, str]:
    """A KYC document waiting for review, and an AML case escalated to a SAR draft."""
    applicant, subject, officer = await make_user(), await make_user(), await make_user()
    provider = SandboxIdentityProvider()
    person = PersonDetails("Ada Lovelace", date(1990, 12, 10), "12 St James's Square", "GB")
    await kyc.submit_identity(applicant.id, person, provider, date(2026, 1, 1))
    await kyc.submit_documents(
        applicant.id,
        DocumentDetails("passport", "P1234567", "GB"),
        kyc.UploadedFile("image/png", PNG),
        kyc.UploadedFile("image/jpeg", JPEG),
        provider,
    )
    finding = monitor.Finding(subject.id, "structuring", "Three sends under the threshold")
    async with transaction() as conn:
        (case_id,) = await monitor.open_cases(conn, [finding])
        document_id = await conn.fetchval(
            "SELECT id FROM kyc_document WHERE user_id = $1 LIMIT 1", applicant.id
        )
    await aml.escalate(case_id, officer.id, "Three sends just under the reporting threshold.")
    await make_user(balance="1.00")  # an opening credit: a journal entry
    async with connection() as conn:
        entry_id = await conn.fetchval("SELECT max(id) FROM journal_entry")
    return {"kycDocument": str(document_id), "sarCase": str(case_id), "journalEntry": str(entry_id)}


async def test_each_operator_read_answers_only_its_roles(
    live_server: LiveServer, tokens: dict[str, str], objects: dict[str, str]
) -> None:
    for query, allowed in READS.items():
        variables: dict[str, Any] = {k: v for k, v in objects.items() if f"${k}" in query}
        for role, token in tokens.items():
            answer = await call(live_server, token, query, variables)
            assert (answer is not None) == (role in allowed), (query, role)


async def test_each_operator_write_refuses_other_roles(
    live_server: LiveServer, tokens: dict[str, str]
) -> None:
    for mutation, allowed in WRITES.items():
        for role, token in tokens.items():
            answer = await call(live_server, token, mutation)
            refused = answer.get("code") == "FORBIDDEN"
            assert refused == (role not in allowed), (mutation, role, answer)
