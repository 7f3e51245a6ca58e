"""GraphQL surface of the fraud review queue, rules and blocklist (compliance only)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from wallet.api.graphql.context import Info
from wallet.api.graphql.errors import (
    ErrorCode,
    Forbidden,
    NotAuthenticated,
    NotFound,
    ValidationError,
    validation_error,
)
from wallet.api.graphql.operators import COMPLIANCE_ROLES, operator_in, operator_or_refusal
from wallet.fraud import service as fraud


@strawberry.type
class FraudHit:
    code: str
    score: int
    detail: str


@strawberry.type(name="FraudCase")
class FraudCaseType:
    id: strawberry.ID
    username: str
    recipient_username: str | None
    transaction_id: strawberry.ID | None
    decision: str = strawberry.field(description="HOLD or BLOCK.")
    status: str = strawberry.field(description="OPEN, APPROVED, REJECTED, BLOCKED, EXPIRED.")
    score: int
    hits: list[FraudHit]
    amount: str
    currency: str
    note: str | None
    created_at: datetime

    @classmethod
    def from_domain(cls, c: fraud.FraudCase) -> FraudCaseType:
        return cls(
            id=strawberry.ID(str(c.id)),
            username=c.username,
            recipient_username=c.recipient_username,
            transaction_id=strawberry.ID(str(c.transaction_id)) if c.transaction_id else None,
            decision=c.decision.upper(),
            status=c.status.upper(),
            score=c.score,
            hits=[FraudHit(code=h["code"], score=h["score"], detail=h["detail"]) for h in c.hits],
            amount=c.amount.format(),
            currency=c.amount.currency.value,
            note=c.note,
            created_at=c.created_at,
        )


@strawberry.type(name="FraudRule")
class FraudRuleType:
    code: str
    kind: str
    params: strawberry.scalars.JSON
    score: int
    enabled: bool
    description: str


def _rule(r: fraud.RuleView) -> FraudRuleType:
    return FraudRuleType(
        code=r.code,
        kind=r.kind,
        params=r.params,  # type: ignore[arg-type]
        score=r.score,
        enabled=r.enabled,
        description=r.description,
    )


@strawberry.type
class FraudDecisionPayload:
    case: FraudCaseType


@strawberry.type
class FraudRulePayload:
    rule: FraudRuleType


@strawberry.type
class BlocklistPayload:
    ok: bool


OperatorErrors = ValidationError | NotFound | Forbidden | NotAuthenticated
FraudDecisionResult = Annotated[
    FraudDecisionPayload | OperatorErrors, strawberry.union("FraudDecisionResult")
]
FraudRuleResult = Annotated[FraudRulePayload | OperatorErrors, strawberry.union("FraudRuleResult")]
BlocklistResult = Annotated[BlocklistPayload | OperatorErrors, strawberry.union("BlocklistResult")]


async def _compliance(info: Info) -> int | Forbidden | NotAuthenticated:
    return await operator_or_refusal(info, COMPLIANCE_ROLES, "Compliance only")


@strawberry.type
class FraudQuery:
    @strawberry.field(description="Compliance: held payments waiting for a decision.")
    async def fraud_reviews(self, info: Info) -> list[FraudCaseType] | None:
        if await operator_in(info, COMPLIANCE_ROLES) is None:
            return None
        return [FraudCaseType.from_domain(c) for c in await fraud.review_queue()]

    @strawberry.field(description="Compliance: the fraud rules, on and off.")
    async def fraud_rules(self, info: Info) -> list[FraudRuleType] | None:
        if await operator_in(info, COMPLIANCE_ROLES) is None:
            return None
        return [_rule(r) for r in await fraud.rules()]


@strawberry.type
class FraudMutation:
    @strawberry.mutation(description="Compliance: release a held payment, or refuse it.")
    async def decide_fraud_review(
        self, info: Info, review_id: strawberry.ID, approve: bool, note: str = ""
    ) -> FraudDecisionResult:
        operator = await _compliance(info)
        if not isinstance(operator, int):
            return operator
        if not str(review_id).isdigit():
            return NotFound(code=ErrorCode.NOT_FOUND, message="No such payment waiting")
        try:
            case = await fraud.decide(int(review_id), operator, approve=approve, note=note)
        except fraud.FraudReviewNotFound as exc:
            return NotFound(code=ErrorCode.NOT_FOUND, message=str(exc))
        return FraudDecisionPayload(case=FraudCaseType.from_domain(case))

    @strawberry.mutation(description="Compliance: turn a rule on or off, or tune it.")
    async def update_fraud_rule(
        self,
        info: Info,
        code: str,
        enabled: bool | None = None,
        score: int | None = None,
        params: strawberry.scalars.JSON | None = None,
    ) -> FraudRuleResult:
        operator = await _compliance(info)
        if not isinstance(operator, int):
            return operator
        if params is not None and not isinstance(params, dict):
            return validation_error("params", "INVALID", "Parameters are an object of numbers")
        try:
            rule = await fraud.update_rule(code, enabled=enabled, score=score, params=params)
        except fraud.InvalidRuleChange as exc:
            return validation_error("code", "INVALID", str(exc))
        return FraudRulePayload(rule=_rule(rule))

    @strawberry.mutation(description="Compliance: refuse payments to or from this value.")
    async def add_to_blocklist(
        self, info: Info, kind: str, value: str, reason: str
    ) -> BlocklistResult:
        operator = await _compliance(info)
        if not isinstance(operator, int):
            return operator
        try:
            await fraud.add_to_blocklist(kind.lower(), value, reason)
        except fraud.InvalidRuleChange as exc:
            return validation_error("kind", "INVALID", str(exc))
        return BlocklistPayload(ok=True)
