"""GraphQL surface of passkeys: register, sign in with one, step up with one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import strawberry

from wallet.api.graphql.context import Info
from wallet.api.graphql.errors import (
    ErrorCode,
    InvalidCredentials,
    NotAuthenticated,
    RateLimited,
    StepUpMethod,
    StepUpRequired,
    ValidationError,
    not_authenticated,
    validation_error,
)
from wallet.api.graphql.permissions import SignedIn
from wallet.api.graphql.security import StepUpPayload, enrolled, grant_passkey, step_up_refusal
from wallet.api.graphql.users import (
    AuthPayload,
    DeviceProofInput,
    SessionTransport,
    device_refused,
    proven_device,
    rate_limited,
    start_session,
)
from wallet.auth import ratelimit
from wallet.security import passkeys
from wallet.security.devices import DeviceProofInvalid
from wallet.security.policy import Action
from wallet.users.service import get_user


@strawberry.type(name="Passkey")
class PasskeyType:
    id: strawberry.ID
    label: str
    created_at: datetime
    last_used_at: datetime | None

    @classmethod
    def from_domain(cls, p: passkeys.Passkey) -> PasskeyType:
        return cls(
            id=strawberry.ID(str(p.id)),
            label=p.label,
            created_at=p.created_at,
            last_used_at=p.last_used_at,
        )


@strawberry.type
class PasskeyOptionsPayload:
    challenge_id: str | None = strawberry.field(
        description="Send back with the answer (sign-in and step-up)."
    )
    options: str = strawberry.field(
        description="JSON for PublicKeyCredential.parseCreationOptionsFromJSON or "
        "parseRequestOptionsFromJSON."
    )


@strawberry.type
class PasskeyPayload:
    passkey: PasskeyType


@strawberry.type
class PasskeyRemovedPayload:
    removed: bool


PasskeyErrors = ValidationError | NotAuthenticated
GuardedPasskeyErrors = ValidationError | StepUpRequired | NotAuthenticated
PasskeyRemovedResult = Annotated[
    PasskeyRemovedPayload | GuardedPasskeyErrors, strawberry.union("PasskeyRemovedResult")
]
PasskeyOptionsResult = Annotated[
    PasskeyOptionsPayload | GuardedPasskeyErrors, strawberry.union("PasskeyOptionsResult")
]
PasskeyResult = Annotated[PasskeyPayload | GuardedPasskeyErrors, strawberry.union("PasskeyResult")]
PasskeyLogInResult = Annotated[
    AuthPayload | InvalidCredentials | RateLimited | ValidationError,
    strawberry.union("PasskeyLogInResult"),
]
PasskeyStepUpResult = Annotated[
    StepUpPayload | PasskeyErrors, strawberry.union("PasskeyStepUpResult")
]


def _origin(info: Info) -> str | None:
    request = info.context.request
    return request.headers.get("origin") if request is not None else None


def _refused(exc: passkeys.PasskeyError) -> ValidationError:
    if isinstance(exc, passkeys.WrongHostForPasskeys):
        return validation_error("origin", "PASSKEYS_NEED_HOST", str(exc))
    return validation_error("credential", "PASSKEY_REFUSED", str(exc))


def _relying_party(info: Info) -> passkeys.RelyingParty:
    """This page's relying party (raises `WrongHostForPasskeys` on an address where
    passkeys cannot work, before any ceremony or step-up starts)."""
    return info.context.services.relying_party(_origin(info))


@strawberry.type
class PasskeyQuery:
    @strawberry.field(description="Your passkeys.", extensions=[SignedIn(otherwise_null=True)])
    async def passkeys(self, info: Info) -> list[PasskeyType] | None:
        user = await info.context.require_viewer()
        return [PasskeyType.from_domain(p) for p in await passkeys.passkeys_of(user.id)]


@strawberry.type
class PasskeyMutation:
    @strawberry.mutation(
        description="Begin adding a passkey to your account.", extensions=[SignedIn()]
    )
    async def start_passkey_registration(self, info: Info) -> PasskeyOptionsResult:
        user = await info.context.require_viewer()
        try:
            rp = _relying_party(info)
        except passkeys.PasskeyError as exc:
            return _refused(exc)
        if asked := await step_up_refusal(info, user.id, Action.ADD_PASSKEY):
            return asked
        options = await passkeys.registration_options(
            info.context.services.redis, rp, user.id, user.username
        )
        return PasskeyOptionsPayload(challenge_id=None, options=options)

    @strawberry.mutation(
        description="Finish adding a passkey with the browser's answer.", extensions=[SignedIn()]
    )
    async def finish_passkey_registration(
        self, info: Info, credential: str, label: str = "Passkey"
    ) -> PasskeyResult:
        user = await info.context.require_viewer()
        if asked := await step_up_refusal(info, user.id, Action.ADD_PASSKEY):
            return asked
        services = info.context.services
        try:
            added = await passkeys.register(
                services.redis, _relying_party(info), user.id, credential, label, _origin(info)
            )
        except passkeys.PasskeyError as exc:
            return _refused(exc)
        await enrolled(info, user.id, "Passkey")
        return PasskeyPayload(passkey=PasskeyType.from_domain(added))

    @strawberry.mutation(description="Remove one of your passkeys.", extensions=[SignedIn()])
    async def remove_passkey(self, info: Info, id: strawberry.ID) -> PasskeyRemovedResult:
        user = await info.context.require_viewer()
        if asked := await step_up_refusal(info, user.id, Action.REMOVE_PASSKEY):
            return asked
        if not str(id).isdigit() or not await passkeys.remove(user.id, int(id)):
            return validation_error("id", "NOT_FOUND", "No such passkey")
        return PasskeyRemovedPayload(removed=True)

    @strawberry.mutation(description="Begin signing in with a passkey (no username needed).")
    async def start_passkey_log_in(self, info: Info) -> PasskeyOptionsResult:
        try:
            rp = _relying_party(info)
        except passkeys.PasskeyError as exc:
            return _refused(exc)
        challenge_id, options = await passkeys.authentication_options(
            info.context.services.redis, rp
        )
        return PasskeyOptionsPayload(challenge_id=challenge_id, options=options)

    @strawberry.mutation(description="Sign in with the browser's passkey answer.")
    async def finish_passkey_log_in(
        self,
        info: Info,
        challenge_id: str,
        credential: str,
        session_transport: SessionTransport = SessionTransport.COOKIE,
        device: DeviceProofInput | None = None,
    ) -> PasskeyLogInResult:
        ctx = info.context
        limiter, per_ip = ctx.services.rate_limiter, ctx.services.limits.login_per_ip
        try:
            await limiter.consume(per_ip, ctx.client_ip())
            device_key = await proven_device(ctx, device)
            assertion = await passkeys.authenticate(
                ctx.services.redis,
                _relying_party(info),
                challenge_id,
                credential,
                _origin(info),
            )
        except ratelimit.RateLimited as exc:
            return rate_limited(exc)
        except passkeys.PasskeyError as exc:
            return InvalidCredentials(code=ErrorCode.INVALID_CREDENTIALS, message=str(exc))
        except DeviceProofInvalid as exc:
            return device_refused(exc)
        await limiter.refund(per_ip, ctx.client_ip())
        user = await get_user(assertion.user_id)
        if user is None:
            return InvalidCredentials(code=ErrorCode.INVALID_CREDENTIALS, message="No such user")
        return await start_session(ctx, user, session_transport, device_key)

    @strawberry.mutation(
        description="Begin confirming it is you with a passkey.", extensions=[SignedIn()]
    )
    async def start_passkey_step_up(self, info: Info) -> PasskeyOptionsResult:
        user = await info.context.require_viewer()
        services = info.context.services
        try:
            challenge_id, options = await passkeys.authentication_options(
                services.redis, _relying_party(info), user.id
            )
        except passkeys.PasskeyError as exc:
            return _refused(exc)
        return PasskeyOptionsPayload(challenge_id=challenge_id, options=options)

    @strawberry.mutation(description="Confirm it is you with the browser's passkey answer.")
    async def verify_step_up_with_passkey(
        self, info: Info, challenge_id: str, credential: str
    ) -> PasskeyStepUpResult:
        user = await info.context.viewer()
        token = info.context.session_token()
        if user is None or token is None:
            return not_authenticated()
        services = info.context.services
        try:
            assertion = await passkeys.authenticate(
                services.redis,
                _relying_party(info),
                challenge_id,
                credential,
                _origin(info),
                expected_user=user.id,
            )
        except passkeys.PasskeyError as exc:
            return _refused(exc)
        await grant_passkey(info, token, user.id, assertion.passkey_created_at.timestamp())
        return StepUpPayload(
            method=StepUpMethod.PASSKEY,
            valid_until=datetime.now(UTC) + timedelta(seconds=services.step_up.seconds),
        )
