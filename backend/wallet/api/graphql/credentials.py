"""GraphQL surface of changing your password, email or phone (each behind step-up)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from wallet.api.graphql.context import Info
from wallet.api.graphql.errors import (
    NotAuthenticated,
    RateLimited,
    StepUpRequired,
    ValidationError,
    not_authenticated,
    validation_error,
)
from wallet.api.graphql.notifications import ContactChannel, too_many_codes
from wallet.api.graphql.permissions import SignedIn
from wallet.api.graphql.security import step_up_refusal, too_many_tries
from wallet.auth.ratelimit import RateLimited as RateLimitHit
from wallet.security.policy import Action
from wallet.users import credentials, verification


@strawberry.type
class PasswordChangedPayload:
    signed_out_sessions: int = strawberry.field(
        description="Your other sessions, signed out by the change."
    )


@strawberry.type
class ContactChangeStartedPayload:
    sent_to: str = strawberry.field(
        description="The new email or phone; type the code sent there into verifyContact."
    )


PasswordChangedResult = Annotated[
    PasswordChangedPayload | ValidationError | StepUpRequired | RateLimited | NotAuthenticated,
    strawberry.union("PasswordChangedResult"),
]
ContactChangeStartedResult = Annotated[
    ContactChangeStartedPayload | ValidationError | StepUpRequired | RateLimited | NotAuthenticated,
    strawberry.union("ContactChangeStartedResult"),
]


@strawberry.type
class CredentialMutation:
    @strawberry.mutation(
        description="Change your password (needs a second factor); signs your other sessions out."
    )
    async def change_password(
        self, info: Info, current_password: str, new_password: str
    ) -> PasswordChangedResult:
        user = await info.context.viewer()
        token = info.context.session_token()
        if user is None or token is None:
            return not_authenticated()
        if asked := await step_up_refusal(info, user.id, Action.CHANGE_PASSWORD):
            return asked
        services = info.context.services
        try:
            signed_out = await credentials.change_password(
                user,
                current_password,
                new_password,
                services.sessions,
                token,
                services.rate_limiter,
            )
        except credentials.CredentialError as exc:
            return validation_error(exc.field, exc.code, str(exc))
        except RateLimitHit as exc:
            return too_many_tries(exc)
        return PasswordChangedPayload(signed_out_sessions=signed_out)

    @strawberry.mutation(
        description="Start changing your email or phone (needs a second factor): a code "
        "goes to the new one, and verifyContact with it makes the change.",
        extensions=[SignedIn()],
    )
    async def start_contact_change(
        self, info: Info, channel: ContactChannel, new_contact: str
    ) -> ContactChangeStartedResult:
        user = await info.context.require_viewer()
        action = Action.CHANGE_EMAIL if channel is ContactChannel.EMAIL else Action.CHANGE_PHONE
        if asked := await step_up_refusal(info, user.id, action):
            return asked
        services = info.context.services
        try:
            sent_to = await credentials.start_contact_change(
                services.redis,
                user,
                verification.ContactChannel(channel.value),
                new_contact,
                email=services.email,
                sms=services.sms,
            )
        except credentials.CredentialError as exc:
            return validation_error(exc.field, exc.code, str(exc))
        except verification.TooManyCodes as exc:
            return too_many_codes(exc)
        return ContactChangeStartedPayload(sent_to=sent_to)
