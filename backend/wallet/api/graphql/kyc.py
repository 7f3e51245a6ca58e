"""GraphQL surface of verification (KYC), limits, and the operators' KYC review queue."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, date, datetime
from enum import Enum
from typing import Annotated

import strawberry

from wallet.aml import cases as aml
from wallet.api.graphql.aml import AmlCaseType
from wallet.api.graphql.context import Info
from wallet.api.graphql.errors import (
    ErrorCode,
    Forbidden,
    NotAuthenticated,
    NotFound,
    UserError,
    ValidationError,
    validation_error,
)
from wallet.api.graphql.fraud import FraudCaseType
from wallet.api.graphql.operators import COMPLIANCE_ROLES, operator_in
from wallet.api.graphql.permissions import SignedIn
from wallet.db.engine import connection
from wallet.fraud import service as fraud
from wallet.kyc import onboarding
from wallet.kyc import service as kyc
from wallet.kyc.identity import DocumentDetails, PersonDetails
from wallet.limits import service as limits
from wallet.money import Currency, Money


@strawberry.enum
class VerificationLevel(Enum):
    UNVERIFIED = "unverified"
    BASIC = "basic"
    FULL = "full"
    PREMIUM = "premium"


@strawberry.enum
class DocumentType(Enum):
    PASSPORT = "passport"
    ID_CARD = "id_card"
    DRIVING_LICENCE = "driving_licence"


@strawberry.enum
class KycDecision(Enum):
    APPROVE = "approve"
    REJECT = "reject"
    MORE_INFO = "more_info"


@strawberry.type(name="KycReview")
class KycReviewType:
    id: strawberry.ID
    requested_level: VerificationLevel
    status: str = strawberry.field(description="PENDING, APPROVED, REJECTED or MORE_INFO.")
    granted_level: VerificationLevel | None
    reason: str | None = strawberry.field(description="Why rejected, or what more is needed.")
    submitted_at: datetime
    decided_at: datetime | None

    @classmethod
    def from_domain(cls, r: kyc.Review) -> KycReviewType:
        return cls(
            id=strawberry.ID(str(r.id)),
            requested_level=VerificationLevel(r.requested_level),
            status=r.status.upper(),
            granted_level=VerificationLevel(r.granted_level) if r.granted_level else None,
            reason=r.reason,
            submitted_at=r.created_at,
            decided_at=r.decided_at,
        )


@strawberry.type(name="Verification")
class VerificationType:
    level: VerificationLevel
    latest_review: KycReviewType | None
    next_step: str | None = strawberry.field(
        description="IDENTITY (name, birth date, address), DOCUMENTS, or null when done "
        "or while a review is pending."
    )


def _verification(status: kyc.KycStatus) -> VerificationType:
    pending = status.latest_review is not None and status.latest_review.status == "pending"
    next_step = {"unverified": "IDENTITY", "basic": "DOCUMENTS"}.get(status.level)
    return VerificationType(
        level=VerificationLevel(status.level),
        latest_review=(
            KycReviewType.from_domain(status.latest_review) if status.latest_review else None
        ),
        next_step=None if pending else next_step,
    )


@strawberry.type
class PeriodLimit:
    scope: str = strawberry.field(description="SEND, ADD, WITHDRAW or MERCHANT.")
    per_transaction: str
    daily: str
    daily_used: str
    daily_remaining: str
    monthly: str
    monthly_used: str
    monthly_remaining: str


@strawberry.type(name="Limits")
class LimitsType:
    level: VerificationLevel
    currency: str = strawberry.field(description="Limits are in US dollars.")
    limits: list[PeriodLimit]
    balance_cap: str | None = strawberry.field(description="null: no cap at this level.")
    balance: str = strawberry.field(description="What you hold, valued in US dollars.")


def _usd(cents: int) -> str:
    return Money(cents, Currency.USD).format()


def _limits(view: limits.LimitsView) -> LimitsType:
    rows = []
    for scope, (period, used) in view.by_scope.items():
        rows.append(
            PeriodLimit(
                scope=scope.value,
                per_transaction=period.per_transaction.format(),
                daily=period.daily.format(),
                daily_used=_usd(used.today),
                daily_remaining=_usd(max(period.daily.amount_minor - used.today, 0)),
                monthly=period.monthly.format(),
                monthly_used=_usd(used.this_month),
                monthly_remaining=_usd(max(period.monthly.amount_minor - used.this_month, 0)),
            )
        )
    return LimitsType(
        level=VerificationLevel(view.level),
        currency="USD",
        limits=rows,
        balance_cap=None if view.balance_cap is None else view.balance_cap.format(),
        balance=_usd(view.balance),
    )


@strawberry.input
class IdentityInput:
    legal_name: str
    date_of_birth: str = strawberry.field(description="YYYY-MM-DD")
    address: str
    country: str = strawberry.field(description="ISO 3166 two-letter code, e.g. GB")


@strawberry.input
class UploadInput:
    content_type: str = strawberry.field(description="image/jpeg, image/png or application/pdf")
    content_base64: str


@strawberry.input
class DocumentsInput:
    document_type: DocumentType
    document_number: str
    document: UploadInput
    selfie: UploadInput


@strawberry.type
class VerificationPayload:
    verification: VerificationType


KycErrors = ValidationError | NotAuthenticated
VerificationResult = Annotated[
    VerificationPayload | KycErrors, strawberry.union("VerificationResult")
]


def _refusal(exc: kyc.KycError) -> ValidationError:
    match exc:
        case kyc.InvalidKycDetails():
            return validation_error(exc.field, exc.code, str(exc))
        case kyc.ReviewPending():
            return validation_error("verification", "REVIEW_PENDING", str(exc))
        case _:
            return validation_error("verification", "WRONG_LEVEL", str(exc))


def _upload(field_name: str, upload: UploadInput) -> kyc.UploadedFile:
    try:
        content = base64.b64decode(upload.content_base64, validate=True)
    except (binascii.Error, ValueError):
        raise kyc.InvalidKycDetails(field_name, "INVALID", "Files must be base64") from None
    return kyc.UploadedFile(upload.content_type.strip().lower(), content)


OnboardingStep = strawberry.enum(onboarding.Step, name="OnboardingStep")


@strawberry.type(name="OnboardingItem")
class OnboardingItemType:
    step: OnboardingStep  # type: ignore[valid-type]
    done: bool
    title: str = strawberry.field(description="What to do, e.g. 'Verify your phone'.")
    unlocks: str = strawberry.field(description="What it gives, in plain words.")
    path: str = strawberry.field(description="Where in the app it is done.")


@strawberry.type(name="OnboardingChecklist")
class OnboardingChecklistType:
    items: list[OnboardingItemType]
    done: int
    complete: bool = strawberry.field(description="Every step done: the app hides it.")


@strawberry.type
class KycQuery:
    @strawberry.field(
        description="A new user's steps (email, phone, PIN, money, identity), each with "
        "what it unlocks; null when logged out.",
        extensions=[SignedIn(otherwise_null=True)],
    )
    async def onboarding(self, info: Info) -> OnboardingChecklistType | None:
        user = await info.context.require_viewer()
        found = await onboarding.checklist(user.id)
        return OnboardingChecklistType(
            items=[
                OnboardingItemType(
                    step=i.step, done=i.done, title=i.title, unlocks=i.unlocks, path=i.path
                )
                for i in found.items
            ],
            done=found.done,
            complete=found.complete,
        )

    @strawberry.field(description="Your verification level and latest review.")
    async def verification(self, info: Info) -> VerificationType | None:
        user = await info.context.viewer()
        return None if user is None else _verification(await kyc.status(user.id))

    @strawberry.field(
        description="Your limits at your level and what you used of them.",
        extensions=[SignedIn(otherwise_null=True)],
    )
    async def limits(self, info: Info) -> LimitsType | None:
        user = await info.context.require_viewer()
        async with connection() as conn:
            return _limits(await limits.limits_view(conn, user.id))


@strawberry.type
class KycMutation:
    @strawberry.mutation(
        description="Basic verification: legal name, birth date, address.", extensions=[SignedIn()]
    )
    async def submit_identity(self, info: Info, input: IdentityInput) -> VerificationResult:
        user = await info.context.require_viewer()
        try:
            born = date.fromisoformat(input.date_of_birth.strip())
        except ValueError:
            return validation_error("dateOfBirth", "INVALID", "Use the form YYYY-MM-DD")
        person = PersonDetails(input.legal_name, born, input.address, input.country)
        try:
            status = await kyc.submit_identity(
                user.id, person, info.context.services.identity, datetime.now(UTC).date()
            )
        except kyc.KycError as exc:
            return _refusal(exc)
        return VerificationPayload(verification=_verification(status))

    @strawberry.mutation(
        description="Full verification: an identity document and a selfie.", extensions=[SignedIn()]
    )
    async def submit_documents(self, info: Info, input: DocumentsInput) -> VerificationResult:
        user = await info.context.require_viewer()
        try:
            status = await kyc.submit_documents(
                user.id,
                DocumentDetails(input.document_type.value, input.document_number, ""),
                _upload("document", input.document),
                _upload("selfie", input.selfie),
                info.context.services.identity,
            )
        except kyc.KycError as exc:
            return _refusal(exc)
        return VerificationPayload(verification=_verification(status))


# --- operators -------------------------------------------------------------------------


@strawberry.type
class KycDocumentRef:
    id: strawberry.ID
    kind: str
    content_type: str
    size_bytes: int


@strawberry.type
class KycCase:
    review: KycReviewType
    user_id: strawberry.ID
    username: str
    current_level: VerificationLevel
    provider_outcome: str
    provider_reasons: list[str]
    legal_name: str
    date_of_birth: str
    address: str
    country: str
    document_type: str | None
    document_number: str | None = strawberry.field(description="Masked: last 4 only.")
    documents: list[KycDocumentRef]
    aml_cases: list[AmlCaseType] = strawberry.field(
        description="The person's open AML cases, and sanctions matches cleared for them. "
        "One with blocksApproval refuses approval until compliance clears it."
    )
    fraud_reviews: list[FraudCaseType] = strawberry.field(
        description="The person's payments held by the fraud rules, waiting for a review."
    )


@strawberry.type
class KycDecisionPayload:
    review: KycReviewType


@strawberry.type(
    description="Approval refused: the person has a possible sanctions match that a "
    "compliance officer has not cleared (clearSanctionsMatch). Rejecting or asking for "
    "more is still possible. The person is not told."
)
class SanctionsMatchOpen(UserError):
    case_id: strawberry.ID


KycDecisionResult = Annotated[
    KycDecisionPayload
    | SanctionsMatchOpen
    | ValidationError
    | NotFound
    | Forbidden
    | NotAuthenticated,
    strawberry.union("KycDecisionResult"),
]


@strawberry.type
class KycReviewQuery:
    @strawberry.field(description="Compliance: verification reviews waiting, oldest first.")
    async def kyc_reviews(self, info: Info) -> list[KycCase] | None:
        if await operator_in(info, COMPLIANCE_ROLES) is None:
            return None
        queue = await kyc.review_queue()
        people = [c.review.user_id for c in queue]
        aml_cases, fraud_reviews = await aml.cases_of(people), await fraud.open_reviews_of(people)
        return [
            KycCase(
                review=KycReviewType.from_domain(c.review),
                user_id=strawberry.ID(str(c.review.user_id)),
                username=c.username,
                current_level=VerificationLevel(c.level),
                provider_outcome=c.review.provider_outcome.upper(),
                provider_reasons=c.review.provider_reasons,
                legal_name=c.legal_name,
                date_of_birth=c.date_of_birth,
                address=c.address,
                country=c.country,
                document_type=c.document_type,
                document_number=c.document_number,
                documents=[
                    KycDocumentRef(
                        id=strawberry.ID(str(d.id)),
                        kind=d.kind.upper(),
                        content_type=d.content_type,
                        size_bytes=d.size_bytes,
                    )
                    for d in c.documents
                ],
                aml_cases=[AmlCaseType.from_domain(a) for a in aml_cases.get(c.review.user_id, [])],
                fraud_reviews=[
                    FraudCaseType.from_domain(f) for f in fraud_reviews.get(c.review.user_id, [])
                ],
            )
            for c in queue
        ]

    @strawberry.field(description="Compliance: a KYC document as a data URL.")
    async def kyc_document(self, info: Info, id: strawberry.ID) -> str | None:
        if await operator_in(info, COMPLIANCE_ROLES) is None or not str(id).isdigit():
            return None
        found = await kyc.document_content(int(id))
        if found is None:
            return None
        return f"data:{found.content_type};base64,{base64.b64encode(found.content).decode()}"


@strawberry.type
class KycReviewMutation:
    @strawberry.mutation(
        description="Compliance: approve, reject or ask for more.", extensions=[SignedIn()]
    )
    async def decide_kyc_review(
        self,
        info: Info,
        review_id: strawberry.ID,
        decision: KycDecision,
        reason: str | None = None,
        level: VerificationLevel | None = None,
    ) -> KycDecisionResult:
        user = await info.context.require_viewer()
        if await operator_in(info, COMPLIANCE_ROLES) is None:
            return Forbidden(code=ErrorCode.FORBIDDEN, message="Compliance only")
        if not str(review_id).isdigit():
            return NotFound(code=ErrorCode.NOT_FOUND, message="No such review waiting")
        try:
            review = await kyc.decide(
                int(review_id),
                user.id,
                kyc.Decision(decision.value),
                reason,
                None if level is None else level.value,
            )
        except kyc.ReviewNotFound as exc:
            return NotFound(code=ErrorCode.NOT_FOUND, message=str(exc))
        except kyc.SanctionsMatchOpen as exc:
            return SanctionsMatchOpen(
                code=ErrorCode.SANCTIONS_MATCH_OPEN,
                message=str(exc),
                case_id=strawberry.ID(str(exc.case_id)),
            )
        except kyc.KycError as exc:
            return _refusal(exc)
        return KycDecisionPayload(review=KycReviewType.from_domain(review))
