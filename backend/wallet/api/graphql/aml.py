"""GraphQL surface of AML cases, SAR drafts and wallet freezes (compliance only)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated

import strawberry

from wallet.aml import cases as aml
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


@strawberry.type(name="AmlCase")
class AmlCaseType:
    id: strawberry.ID
    user_id: strawberry.ID
    username: str
    wallet_status: str
    frozen_reason: str | None = strawberry.field(description="Operators only, never the user.")
    detector: str = strawberry.field(
        description="STRUCTURING, RAPID_IN_OUT, FAN_IN, FAN_OUT or SANCTIONS."
    )
    status: str
    summary: str
    evidence: strawberry.scalars.JSON
    closed_reason: str | None = strawberry.field(
        description="Why it was closed; for a cleared sanctions match, why it is not the "
        "listed person."
    )
    created_at: datetime
    has_sar: bool
    cleared_by: str | None = strawberry.field(
        description="The compliance officer who cleared a possible sanctions match."
    )
    cleared_at: datetime | None
    blocks_approval: bool = strawberry.field(
        description="A possible sanctions match not cleared: KYC approval is refused and "
        "the wallet stays frozen by it."
    )

    @classmethod
    def from_domain(cls, c: aml.AmlCase) -> AmlCaseType:
        return cls(
            id=strawberry.ID(str(c.id)),
            user_id=strawberry.ID(str(c.user_id)),
            username=c.username,
            wallet_status=c.wallet_status.upper(),
            frozen_reason=c.frozen_reason,
            detector=c.detector.upper(),
            status=c.status.upper(),
            summary=c.summary,
            evidence=c.evidence,  # type: ignore[arg-type]
            closed_reason=c.closed_reason,
            created_at=c.created_at,
            has_sar=c.has_sar,
            cleared_by=c.cleared_by,
            cleared_at=c.cleared_at,
            blocks_approval=c.blocks_approval,
        )


@strawberry.type
class AmlCasePayload:
    case: AmlCaseType


@strawberry.type
class SarPayload:
    case: AmlCaseType
    document: strawberry.scalars.JSON


AmlErrors = ValidationError | NotFound | Forbidden | NotAuthenticated
AmlCaseResult = Annotated[AmlCasePayload | AmlErrors, strawberry.union("AmlCaseResult")]
SarResult = Annotated[SarPayload | AmlErrors, strawberry.union("SarResult")]


async def _compliance(info: Info) -> int | Forbidden | NotAuthenticated:
    return await operator_or_refusal(info, COMPLIANCE_ROLES, "Compliance only")


def _id(raw: strawberry.ID) -> int:
    return int(raw) if str(raw).isdigit() else 0


async def _case_payload(case_id: int) -> AmlCasePayload | NotFound:
    case = await aml.get_case(case_id)
    if case is None:
        return NotFound(code=ErrorCode.NOT_FOUND, message="No such case")
    return AmlCasePayload(case=AmlCaseType.from_domain(case))


@strawberry.type
class AmlQuery:
    @strawberry.field(description="Compliance: AML cases, oldest first.")
    async def aml_cases(self, info: Info, include_closed: bool = False) -> list[AmlCaseType] | None:
        if await operator_in(info, COMPLIANCE_ROLES) is None:
            return None
        return [AmlCaseType.from_domain(c) for c in await aml.cases(include_closed)]

    @strawberry.field(description="Compliance: a case's SAR draft, as a JSON document.")
    async def sar_document(
        self, info: Info, case_id: strawberry.ID
    ) -> strawberry.scalars.JSON | None:
        if await operator_in(info, COMPLIANCE_ROLES) is None:
            return None
        return await aml.sar_document(_id(case_id))  # type: ignore[return-value]


@strawberry.type
class AmlMutation:
    @strawberry.mutation(description="Compliance: escalate a case to a SAR draft.")
    async def escalate_aml_case(
        self, info: Info, case_id: strawberry.ID, narrative: str
    ) -> SarResult:
        operator = await _compliance(info)
        if not isinstance(operator, int):
            return operator
        try:
            document = await aml.escalate(_id(case_id), operator, narrative)
        except aml.CaseNotFound as exc:
            return NotFound(code=ErrorCode.NOT_FOUND, message=str(exc))
        except aml.CaseError as exc:
            return validation_error("narrative", "INVALID", str(exc))
        case = await aml.get_case(_id(case_id))
        assert case is not None
        return SarPayload(case=AmlCaseType.from_domain(case), document=document)  # type: ignore[arg-type]

    @strawberry.mutation(description="Compliance: close a case, saying why.")
    async def close_aml_case(
        self, info: Info, case_id: strawberry.ID, reason: str
    ) -> AmlCaseResult:
        operator = await _compliance(info)
        if not isinstance(operator, int):
            return operator
        try:
            await aml.close(_id(case_id), reason)
        except aml.CaseNotFound as exc:
            return NotFound(code=ErrorCode.NOT_FOUND, message=str(exc))
        except aml.SanctionsMatchNotClosed as exc:
            return validation_error("caseId", "SANCTIONS_MATCH", str(exc))
        except aml.CaseError as exc:
            return validation_error("reason", "REQUIRED", str(exc))
        return await _case_payload(_id(case_id))

    @strawberry.mutation(
        description="Compliance: clear a possible sanctions match that is not the listed "
        "person, saying why (e.g. a different date of birth). Recorded on the case; KYC "
        "approval is possible again and the freeze the match made is lifted."
    )
    async def clear_sanctions_match(
        self, info: Info, case_id: strawberry.ID, reason: str
    ) -> AmlCaseResult:
        operator = await _compliance(info)
        if not isinstance(operator, int):
            return operator
        try:
            await aml.clear_sanctions_match(_id(case_id), operator, reason)
        except aml.CaseNotFound as exc:
            return NotFound(code=ErrorCode.NOT_FOUND, message=str(exc))
        except aml.NotASanctionsMatch as exc:
            return validation_error("caseId", "NOT_SANCTIONS", str(exc))
        except aml.CaseError as exc:
            return validation_error("reason", "REQUIRED", str(exc))
        return await _case_payload(_id(case_id))

    @strawberry.mutation(
        description="Compliance: freeze the wallet of a case's subject (no sending or "
        "withdrawing); the reason is for operators only."
    )
    async def freeze_wallet(self, info: Info, case_id: strawberry.ID, reason: str) -> AmlCaseResult:
        return await _on_subject(
            info, case_id, lambda user_id: aml.freeze(user_id, reason), ("reason", "INVALID")
        )

    @strawberry.mutation(description="Compliance: lift the freeze of a case's subject.")
    async def unfreeze_wallet(self, info: Info, case_id: strawberry.ID) -> AmlCaseResult:
        return await _on_subject(info, case_id, aml.unfreeze, ("caseId", "NOT_FROZEN"))


async def _on_subject(
    info: Info,
    case_id: strawberry.ID,
    action: Callable[[int], Awaitable[None]],
    refusal: tuple[str, str],
) -> AmlCaseResult:
    """Apply `action` to the wallet of the case's subject (compliance only)."""
    operator = await _compliance(info)
    if not isinstance(operator, int):
        return operator
    case = await aml.get_case(_id(case_id))
    if case is None:
        return NotFound(code=ErrorCode.NOT_FOUND, message="No such case")
    try:
        await action(case.user_id)
    except aml.CaseError as exc:
        return validation_error(*refusal, str(exc))
    return await _case_payload(case.id)
