"""Least privilege: each operator surface answers only the roles that need it."""

import pytest

from tests.conftest import LiveServer
from tests.factories import make_user
from tests.graphql_client import call, token_for
from wallet.db.engine import connection

ROLES = ("support", "compliance", "mediator", "admin")

# Each read: who gets data (others get null).
READS = {
    "{ ledgerCheck { ok } }": {"support", "compliance", "admin"},
    "{ chartOfAccounts { code } }": {"support", "compliance", "admin"},
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
}

# Each write, on an id that does not exist: who gets past the role check (NOT_FOUND or a
# validation error) and who is refused (FORBIDDEN). Nothing exists, so nothing changes.
WRITES = {
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


async def test_each_operator_read_answers_only_its_roles(
    live_server: LiveServer, tokens: dict[str, str]
) -> None:
    for query, allowed in READS.items():
        for role, token in tokens.items():
            answer = await call(live_server, token, query)
            assert (answer is not None) == (role in allowed), (query, role)


async def test_each_operator_write_refuses_other_roles(
    live_server: LiveServer, tokens: dict[str, str]
) -> None:
    for mutation, allowed in WRITES.items():
        for role, token in tokens.items():
            answer = await call(live_server, token, mutation)
            refused = answer.get("code") == "FORBIDDEN"
            assert refused == (role not in allowed), (mutation, role, answer)
