"""GraphQL surface of opening a merchant (wallet.merchants.service): the business
profile, the merchants you work for."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import strawberry

from wallet.api.graphql.context import Info
from wallet.api.graphql.errors import (
    NotAuthenticated,
    ValidationError,
    not_authenticated,
    validation_error,
)
from wallet.api.graphql.merchants.access import int_id
from wallet.merchants import service as merchants
from wallet.money import Currency, UnknownCurrency


@strawberry.enum(description="An operator's review of the business (KYB).")
class MerchantApproval(Enum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


@strawberry.type(name="Merchant")
class MerchantType:
    id: strawberry.ID
    name: str
    mcc: str
    country: str
    city: str
    settlement_schedule: str
    fee_percent_bp: int
    role: str | None = strawberry.field(description="Your role: OWNER or CASHIER.")
    approval: MerchantApproval = strawberry.field(
        description="PENDING: sales are kept until an operator approves the business; "
        "nothing is paid out to the bank before. REJECTED: no payments."
    )

    @classmethod
    def from_domain(cls, m: merchants.Merchant, role: merchants.Role | None) -> MerchantType:
        return cls(
            id=strawberry.ID(str(m.id)),
            name=m.name,
            mcc=m.mcc,
            country=m.country,
            city=m.city,
            settlement_schedule=m.settlement_schedule.upper(),
            fee_percent_bp=m.fee_percent_bp,
            role=role.value.upper() if role else None,
            approval=MerchantApproval(m.approval_status),
        )


@strawberry.input
class OnboardMerchantInput:
    name: str
    mcc: str
    country: str
    legal_name: str = strawberry.field(description="The business's registered legal name.")
    business_address: str
    registration_number: str | None = strawberry.field(
        default=None, description="Company registration number; not needed for a sole trader."
    )
    sole_trader: bool = False
    website: str | None = None
    description: str = strawberry.field(
        default="", description="What the business sells (needed without a website)."
    )
    city: str = ""
    settlement_schedule: str = "DAILY"
    settlement_method_id: strawberry.ID | None = None
    currencies: list[str] = strawberry.field(default_factory=lambda: ["USD"])
    marketplace: bool = strawberry.field(
        default=False, description="Hold sales in buyer-protection escrow until delivery."
    )


@strawberry.type
class MerchantPayload:
    merchant: MerchantType


MerchantResult = Annotated[
    MerchantPayload | ValidationError | NotAuthenticated, strawberry.union("MerchantResult")
]
VERIFICATION_REQUIRED = "VERIFICATION_REQUIRED"


@strawberry.type
class OnboardingQuery:
    @strawberry.field(description="Merchants you work for.")
    async def my_merchants(self, info: Info) -> list[MerchantType] | None:
        user = await info.context.viewer()
        if user is None:
            return None
        return [MerchantType.from_domain(m, r) for m, r in await merchants.merchants_of(user.id)]


@strawberry.type
class OnboardingMutation:
    @strawberry.mutation(description="Open a merchant account that you own.")
    async def onboard_merchant(self, info: Info, input: OnboardMerchantInput) -> MerchantResult:
        user = await info.context.viewer()
        if user is None:
            return not_authenticated()
        try:
            currencies = tuple(Currency.parse(c) for c in input.currencies)
            merchant = await merchants.onboard(
                merchants.Onboarding(
                    owner_user_id=user.id,
                    name=input.name,
                    mcc=input.mcc,
                    country=input.country,
                    city=input.city,
                    currencies=currencies or (Currency.USD,),
                    settlement_schedule=input.settlement_schedule.lower(),
                    settlement_method_id=int_id(input.settlement_method_id),
                    marketplace=input.marketplace,
                    profile=merchants.BusinessProfile(
                        legal_name=input.legal_name,
                        address=input.business_address,
                        registration_number=input.registration_number,
                        sole_trader=input.sole_trader,
                        website=input.website,
                        description=input.description,
                    ),
                )
            )
        except UnknownCurrency as exc:
            return validation_error("currencies", "INVALID", str(exc))
        except merchants.VerificationRequired as exc:
            return validation_error("verification", VERIFICATION_REQUIRED, str(exc))
        except merchants.InvalidMerchantDetails as exc:
            return validation_error(exc.field, "INVALID", str(exc))
        return MerchantPayload(merchant=MerchantType.from_domain(merchant, merchants.Role.OWNER))
