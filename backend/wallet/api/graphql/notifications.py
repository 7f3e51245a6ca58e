"""GraphQL surface of contact verification (the notification centre is in
`notification_centre`, its settings in `notification_settings`)."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import strawberry

from wallet.api.graphql.context import Info
from wallet.api.graphql.errors import (
    ErrorCode,
    NotAuthenticated,
    RateLimited,
    ValidationError,
    validation_error,
)
from wallet.api.graphql.permissions import SignedIn
from wallet.api.graphql.transactions import TransactionNode
from wallet.transactions import history
from wallet.users import verification
from wallet.waiting import service as waiting


@strawberry.enum
class ContactChannel(Enum):
    EMAIL = "email"
    PHONE = "phone"


@strawberry.type
class VerificationSentPayload:
    sent_to: str


VerificationSentResult = Annotated[
    VerificationSentPayload | RateLimited | NotAuthenticated,
    strawberry.union("VerificationSentResult"),
]


@strawberry.type
class ContactVerifiedPayload:
    contact: str
    claimed_transfers: list[TransactionNode] = strawberry.field(
        description="Money sent to this contact before you had a wallet, now yours."
    )


ContactVerifiedResult = Annotated[
    ContactVerifiedPayload | ValidationError | NotAuthenticated,
    strawberry.union("ContactVerifiedResult"),
]


def too_many_codes(exc: verification.TooManyCodes) -> RateLimited:
    return RateLimited(
        code=ErrorCode.RATE_LIMITED, message=str(exc), retry_after_seconds=exc.retry_after
    )


@strawberry.type
class NotificationMutation:
    @strawberry.mutation(
        description="Send a verification code to your email or phone.", extensions=[SignedIn()]
    )
    async def send_verification_code(
        self, info: Info, channel: ContactChannel
    ) -> VerificationSentResult:
        user = await info.context.require_viewer()
        services = info.context.services
        try:
            sent_to = await verification.send_code(
                services.redis,
                user,
                verification.ContactChannel(channel.value),
                email=services.email,
                sms=services.sms,
            )
        except verification.TooManyCodes as exc:
            return too_many_codes(exc)
        return VerificationSentPayload(sent_to=sent_to)

    @strawberry.mutation(
        description="Confirm the code; money waiting for this contact becomes yours.",
        extensions=[SignedIn()],
    )
    async def verify_contact(
        self, info: Info, channel: ContactChannel, code: str
    ) -> ContactVerifiedResult:
        user = await info.context.require_viewer()
        try:
            verified = await verification.confirm_code(
                info.context.services.redis,
                user,
                verification.ContactChannel(channel.value),
                code,
                hand_over=waiting.hand_over,
            )
        except verification.WrongCode as exc:
            return validation_error("code", "WRONG_CODE", str(exc))
        except verification.ContactTaken as exc:
            return validation_error("code", "TAKEN", str(exc))
        info.context.forget_viewer()
        claimed = [await history.get(user.id, t) for t in verified.claimed_transaction_ids]
        return ContactVerifiedPayload(
            contact=verified.contact,
            claimed_transfers=[TransactionNode.from_domain(i) for i in claimed if i],
        )
