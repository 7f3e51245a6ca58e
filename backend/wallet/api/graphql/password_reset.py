"""GraphQL surface of the forgotten-password reset: ask for a code, then reset with it
(and a second factor when the account has one). Rules in `wallet.users.password_reset`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import strawberry

from wallet.api.graphql.context import Info
from wallet.api.graphql.errors import (
    ErrorCode,
    RateLimited,
    StepUpMethod,
    StepUpRequired,
    ValidationError,
    validation_error,
)
from wallet.api.graphql.notifications import ContactChannel
from wallet.api.graphql.passkeys import PasskeyOptionsPayload
from wallet.api.graphql.users import rate_limited
from wallet.auth.ratelimit import RateLimited as RateLimitHit
from wallet.security import passkeys, totp
from wallet.security.policy import Factor
from wallet.users import password_reset, pin, verification


@strawberry.type
class PasswordResetRequested:
    message: str


@strawberry.input(
    description="A reset code from requestPasswordReset and the new password; with a "
    "second factor on the account, also one of the methods resetPassword asked for."
)
class ResetPasswordInput:
    login: str = strawberry.field(description="The email, phone or username the code went for.")
    code: str
    new_password: str
    factor: StepUpMethod | None = strawberry.field(
        default=None, description="PIN, TOTP (or a recovery code) or PASSKEY."
    )
    factor_code: str | None = strawberry.field(
        default=None, description="The PIN, authenticator code or recovery code."
    )
    passkey_challenge_id: str | None = strawberry.field(
        default=None, description="From startPasswordResetPasskey."
    )
    passkey_credential: str | None = strawberry.field(
        default=None, description="The browser's passkey answer (JSON)."
    )

    def answer(self) -> password_reset.FactorAnswer | None:
        if self.factor is None:
            return None
        return password_reset.FactorAnswer(
            Factor(self.factor.value),
            code=self.factor_code or "",
            passkey_challenge_id=self.passkey_challenge_id or "",
            passkey_credential=self.passkey_credential or "",
        )


@strawberry.type
class PasswordResetPayload:
    message: str
    reset_at: datetime


RequestPasswordResetResult = Annotated[
    PasswordResetRequested | RateLimited, strawberry.union("RequestPasswordResetResult")
]
ResetPasswordResult = Annotated[
    PasswordResetPayload | StepUpRequired | ValidationError | RateLimited,
    strawberry.union("ResetPasswordResult"),
]
PasswordResetPasskeyResult = Annotated[
    PasskeyOptionsPayload | ValidationError | RateLimited,
    strawberry.union("PasswordResetPasskeyResult"),
]


def _origin(info: Info) -> str | None:
    request = info.context.request
    return request.headers.get("origin") if request is not None else None


def _refused(exc: Exception) -> ValidationError | RateLimited:
    match exc:
        case RateLimitHit():
            return rate_limited(exc)
        case pin.PinLocked():
            seconds = max(int((exc.until - datetime.now(UTC)).total_seconds()), 1)
            return RateLimited(
                code=ErrorCode.RATE_LIMITED, message=str(exc), retry_after_seconds=seconds
            )
        case verification.WrongCode():
            return validation_error("code", "WRONG_CODE", str(exc))
        case password_reset.ResetRefused():
            return validation_error(exc.field, exc.code, str(exc))
        case pin.PinError() | totp.TotpError():
            return validation_error("factorCode", "WRONG_CODE", str(exc))
        case passkeys.WrongHostForPasskeys():
            return validation_error("origin", "PASSKEYS_NEED_HOST", str(exc))
        case _:
            return validation_error("passkeyCredential", "PASSKEY_REFUSED", str(exc))


_REFUSALS = (
    RateLimitHit,
    pin.PinError,
    totp.TotpError,
    verification.WrongCode,
    password_reset.ResetRefused,
    passkeys.PasskeyError,
)


@strawberry.type
class PasswordResetMutation:
    @strawberry.mutation(
        description="Forgot your password? Sends a reset code (15 minutes, once) to the "
        "account's verified email or phone. The answer is the same whether or not the "
        "account exists."
    )
    async def request_password_reset(
        self,
        info: Info,
        login_name: Annotated[str, strawberry.argument(name="login")],
        channel: ContactChannel = ContactChannel.EMAIL,
    ) -> RequestPasswordResetResult:
        ctx = info.context
        services = ctx.services
        try:
            await password_reset.request_reset(
                services.redis,
                services.rate_limiter,
                login_name,
                verification.ContactChannel(channel.value),
                ctx.client_ip(),
                email=services.email,
                sms=services.sms,
            )
        except RateLimitHit as exc:
            return rate_limited(exc)
        where = "email" if channel is ContactChannel.EMAIL else "phone"
        return PasswordResetRequested(
            message=f"If an account matches and its {where} is confirmed, a reset code is on "
            "its way. It works for 15 minutes."
        )

    @strawberry.mutation(
        description="Begin proving a passkey within a password reset (the account's "
        "passkeys only); answer with resetPassword(factor: PASSKEY)."
    )
    async def start_password_reset_passkey(
        self,
        info: Info,
        login_name: Annotated[str, strawberry.argument(name="login")],
        code: str,
    ) -> PasswordResetPasskeyResult:
        ctx = info.context
        try:
            challenge_id, options = await password_reset.start_passkey_answer(
                ctx.services.redis,
                ctx.services.rate_limiter,
                ctx.services.relying_party(_origin(info)),
                login_name,
                code,
                ctx.client_ip(),
            )
        except _REFUSALS as exc:
            return _refused(exc)
        return PasskeyOptionsPayload(challenge_id=challenge_id, options=options)

    @strawberry.mutation(
        description="Set a new password with the reset code. With a second factor on the "
        "account, the answer is StepUpRequired with its methods until one is sent along. "
        "Afterwards every session is signed out and you are alerted everywhere."
    )
    async def reset_password(self, info: Info, input: ResetPasswordInput) -> ResetPasswordResult:
        ctx = info.context
        services = ctx.services
        try:
            answer = input.answer()
            rp = None
            if answer is not None and answer.method is Factor.PASSKEY:
                rp = services.relying_party(_origin(info))
            await password_reset.reset(
                services.redis,
                services.rate_limiter,
                services.sessions,
                input.login,
                input.code,
                input.new_password,
                ctx.client_ip(),
                answer=answer,
                rp=rp,
                origin=_origin(info),
            )
        except password_reset.FactorNeeded as exc:
            return StepUpRequired(
                code=ErrorCode.STEP_UP_REQUIRED,
                message=str(exc),
                methods=[StepUpMethod(m.value) for m in exc.methods],
            )
        except _REFUSALS as exc:
            return _refused(exc)
        return PasswordResetPayload(
            message="Your password was changed and every session signed out. Sign in with "
            "your new password.",
            reset_at=datetime.now(UTC),
        )
