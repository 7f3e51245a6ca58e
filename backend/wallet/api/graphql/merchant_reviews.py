"""Operator GraphQL for merchant approval (KYB-lite): the merchants waiting for a
decision and the decision itself (compliance and admins; audited like every mutation)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
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
from wallet.api.graphql.kyc import SanctionsMatchOpen
from wallet.api.graphql.operators import COMPLIANCE_ROLES, operator_in, operator_or_refusal
from wallet.merchants import approval
from wallet.merchants.errors import (
    AlreadyDecided,
    InvalidMerchantDetails,
    MerchantNotFound,
    OwnerSanctionsMatchOpen,
)


@strawberry.enum
class MerchantDecision(Enum):
    APPROVE = "approved"
    REJECT = "rejected"


@strawberry.type(name="MerchantApplication")
class MerchantApplicationType:
    merchant_id: strawberry.ID
    name: str
    mcc: str
    country: str
    city: str
    legal_name: str | None
    registration_number: str | None
    sole_trader: bool
    business_address: str | None
    website: str | None
    description: str
    owner_username: str
    owner_verification_level: str
    status: str = strawberry.field(description="PENDING, APPROVED or REJECTED.")
    reason: str | None = strawberry.field(description="The operator's reason (operators only).")
    created_at: datetime

    @classmethod
    def from_domain(cls, a: approval.Application) -> MerchantApplicationType:
        return cls(
            merchant_id=strawberry.ID(str(a.merchant_id)),
            name=a.name,
            mcc=a.mcc,
            country=a.country,
            city=a.city,
            legal_name=a.legal_name,
            registration_number=a.registration_number,
            sole_trader=a.sole_trader,
            business_address=a.business_address,
            website=a.website,
            description=a.description,
            owner_username=a.owner_username,
            owner_verification_level=a.owner_verification_level.upper(),
            status=a.status.upper(),
            reason=a.reason,
            created_at=a.created_at,
        )


@strawberry.type
class MerchantDecisionPayload:
    application: MerchantApplicationType


MerchantDecisionResult = Annotated[
    MerchantDecisionPayload
    | SanctionsMatchOpen
    | ValidationError
    | NotFound
    | Forbidden
    | NotAuthenticated,
    strawberry.union("MerchantDecisionResult"),
]


@strawberry.type
class MerchantReviewQuery:
    @strawberry.field(description="Compliance: merchants waiting for approval, oldest first.")
    async def merchant_applications(
        self, info: Info, first: int = 50
    ) -> list[MerchantApplicationType] | None:
        if await operator_in(info, COMPLIANCE_ROLES) is None:
            return None
        return [MerchantApplicationType.from_domain(a) for a in await approval.pending(first)]


@strawberry.type
class MerchantReviewMutation:
    @strawberry.mutation(
        description="Compliance: approve a merchant (its sales are then settled to its bank) "
        "or reject it (its open requests are cancelled and it takes no payments), with a "
        "reason. Also reverses an earlier decision."
    )
    async def decide_merchant_application(
        self, info: Info, merchant_id: strawberry.ID, decision: MerchantDecision, reason: str
    ) -> MerchantDecisionResult:
        operator = await operator_or_refusal(info, COMPLIANCE_ROLES, "Compliance only")
        if not isinstance(operator, int):
            return operator
        if not str(merchant_id).isdigit():
            return NotFound(code=ErrorCode.NOT_FOUND, message="No such merchant")
        try:
            decided = await approval.decide(
                int(merchant_id), operator, approval.Decision(decision.value), reason
            )
        except MerchantNotFound:
            return NotFound(code=ErrorCode.NOT_FOUND, message="No such merchant")
        except AlreadyDecided as exc:
            return validation_error("decision", "ALREADY_DECIDED", str(exc))
        except OwnerSanctionsMatchOpen as exc:
            return SanctionsMatchOpen(
                code=ErrorCode.SANCTIONS_MATCH_OPEN,
                message=str(exc),
                case_id=strawberry.ID(str(exc.case_id)),
            )
        except InvalidMerchantDetails as exc:
            return validation_error(exc.field, "INVALID", str(exc))
        return MerchantDecisionPayload(application=MerchantApplicationType.from_domain(decided))
