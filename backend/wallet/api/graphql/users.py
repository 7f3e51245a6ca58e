"""GraphQL surface of users and sessions: signUp, logIn, logOut, me."""

from __future__ import annotations

import base64
import json
import secrets
from datetime import UTC, datetime
from enum import Enum
from typing import Annotated

import strawberry

from wallet.api.graphql.context import Context, Info
from wallet.api.graphql.errors import (
    ErrorCode,
    FieldError,
    InvalidCredentials,
    NotAuthenticated,
    RateLimited,
    SecondFactorRequired,
    StepUpMethod,
    ValidationError,
    not_authenticated,
    validation_error,
)
from wallet.api.graphql.notifications import ContactChannel
from wallet.auth import ratelimit
from wallet.auth.refresh import BearerDevice
from wallet.rewards import referrals
from wallet.security import devices, passkeys, totp
from wallet.security.devices import DeviceProof, DeviceProofInvalid
from wallet.users import errors as user_errors
from wallet.users import login, service, verification
from wallet.users.models import SignUpRequest, User


@strawberry.type(name="User")
class UserType:
    id: strawberry.ID
    email: str
    phone: str
    username: str
    created_at: datetime

    @classmethod
    def from_domain(cls, user: User) -> UserType:
        return cls(
            id=strawberry.ID(str(user.id)),
            email=user.email,
            phone=user.phone,
            username=user.username,
            created_at=user.created_at,
        )


@strawberry.enum
class SessionTransport(Enum):
    COOKIE = "COOKIE"
    BEARER = "BEARER"


@strawberry.input(
    description="This device's proof of its key pair: the answer to deviceChallenge "
    "(docs/security.md, Devices)."
)
class DeviceProofInput:
    public_key: str = strawberry.field(description="SPKI of the P-256 public key, base64url.")
    challenge_id: str
    signature: str = strawberry.field(
        description="ECDSA P-256 / SHA-256 over the challenge's nonce bytes, base64url "
        "(raw r||s as WebCrypto returns it, or DER)."
    )

    def to_domain(self) -> DeviceProof:
        return DeviceProof.decode(self.public_key, self.challenge_id, self.signature)


@strawberry.type
class DeviceChallengePayload:
    challenge_id: str
    nonce: str = strawberry.field(description="The bytes to sign, base64url.")


@strawberry.input
class SignUpInput:
    email: str
    phone: str
    username: str
    password: str
    session_transport: SessionTransport = SessionTransport.COOKIE
    device: DeviceProofInput | None = None
    referral_code: str | None = strawberry.field(
        default=None,
        description="A friend's invitation code (the `ref` of their link): you both get a "
        "bonus (referralTerms). A code that cannot be used never stops the sign-up: "
        "AuthPayload.referralNotice says why.",
    )
    referred_by: str | None = strawberry.field(
        default=None,
        description="Username of the friend who invited you.",
        deprecation_reason="Use referralCode.",
    )


@strawberry.input
class LogInInput:
    login: str = strawberry.field(description="Email, phone number or username.")
    password: str
    session_transport: SessionTransport = SessionTransport.COOKIE
    device: DeviceProofInput | None = None
    unlock_code: str | None = strawberry.field(
        default=None,
        description="A code from sendLogInCode: signs in while the account's sign-in is "
        "slowed down by failed attempts.",
    )


@strawberry.type
class AuthPayload:
    user: UserType
    token: str | None = strawberry.field(
        description="The bearer token; only with sessionTransport BEARER (mobile clients)."
    )
    referral_notice: str | None = strawberry.field(
        default=None,
        description="signUp with an invitation that could not be applied: why (the wallet "
        "was made all the same).",
    )
    token_expires_at: datetime | None = strawberry.field(
        default=None,
        description="When the bearer token ends, if it is a short-lived access token "
        "(a BEARER sign-in that proved a device key): renew it with refreshSession.",
    )
    refresh_token: str | None = strawberry.field(
        default=None,
        description="BEARER sign-ins that proved a device key: a single-use token that "
        "refreshSession trades for a new access token and a new refresh token.",
    )
    refresh_token_expires_at: datetime | None = strawberry.field(
        default=None, description="When refreshToken ends unless it is used before."
    )


@strawberry.type
class LogOutPayload:
    ok: bool


SignUpResult = Annotated[
    AuthPayload | ValidationError | RateLimited, strawberry.union("SignUpResult")
]
LogInResult = Annotated[
    AuthPayload | SecondFactorRequired | InvalidCredentials | RateLimited | ValidationError,
    strawberry.union("LogInResult"),
]
CompleteLogInResult = Annotated[
    AuthPayload | InvalidCredentials | RateLimited, strawberry.union("CompleteLogInResult")
]
LOGIN_TICKET_SECONDS = 300
LogOutResult = Annotated[LogOutPayload | NotAuthenticated, strawberry.union("LogOutResult")]


@strawberry.type
class LogInCodeSentPayload:
    message: str


def rate_limited(exc: ratelimit.RateLimited) -> RateLimited:
    return RateLimited(
        code=ErrorCode.RATE_LIMITED,
        retry_after_seconds=exc.retry_after_seconds,
        message=f"Too many attempts. Try again in {exc.retry_after_seconds}s.",
    )


async def start_session(
    ctx: Context, user: User, transport: SessionTransport, device_key: bytes | None = None
) -> AuthPayload:
    """Issue a fresh session token (never reuse one: no fixation) and deliver it.
    `device_key` is the device's public key when it proved holding the private one."""
    old = ctx.session_token()
    if old:
        await ctx.services.sessions.revoke(old)
    conn = ctx.request or ctx.websocket
    agent = conn.headers.get("user-agent", "") if conn is not None else ""
    signed_in = await devices.record_sign_in(user.id, agent, device_key, ctx.client_ip())
    if transport is SessionTransport.BEARER and device_key is not None:
        # The mobile app: a short-lived access token and a device-bound refresh token.
        issued = await ctx.services.refresh_tokens.issue(
            user.id,
            BearerDevice(
                device_id=signed_in.device_id,
                fingerprint=signed_in.fingerprint,
                label=devices.device_label(agent),
                ip=ctx.client_ip(),
                new_device=not signed_in.trusted,
            ),
        )
        return AuthPayload(
            user=UserType.from_domain(user),
            token=issued.access_token,
            token_expires_at=datetime.fromtimestamp(issued.access_expires_at, UTC),
            refresh_token=issued.refresh_token,
            refresh_token_expires_at=datetime.fromtimestamp(issued.refresh_expires_at, UTC),
        )
    token = await ctx.services.sessions.create(
        user.id,
        device=devices.device_label(agent),
        ip=ctx.client_ip(),
        new_device=not signed_in.trusted,
        device_id=signed_in.device_id,
        device_fingerprint=signed_in.fingerprint,
    )
    if transport is SessionTransport.BEARER:
        return AuthPayload(user=UserType.from_domain(user), token=token)
    assert ctx.response is not None
    settings = ctx.services.settings
    ctx.response.set_cookie(
        settings.session_cookie,
        token,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        max_age=settings.auth.session_absolute_seconds,
        path="/",
    )
    return AuthPayload(user=UserType.from_domain(user), token=None)


async def proven_device(ctx: Context, proof: DeviceProofInput | None) -> bytes | None:
    """The device's public key once its proof checks out (raises `DeviceProofInvalid`)."""
    if proof is None:
        return None
    checked = proof.to_domain()
    await devices.verify(ctx.services.redis, checked)
    return checked.public_key


def device_refused(exc: DeviceProofInvalid) -> ValidationError:
    return validation_error("device", "DEVICE_PROOF_INVALID", str(exc))


@strawberry.type
class UserQuery:
    @strawberry.field(description="The logged-in user, or null.")
    async def me(self, info: Info) -> UserType | None:
        user = await info.context.viewer()
        return UserType.from_domain(user) if user else None

    @strawberry.field(
        description="Your operator role (SUPPORT, COMPLIANCE, MEDIATOR, ADMIN), or null: "
        "which console pages to show. Each operator field checks the role itself."
    )
    async def operator_role(self, info: Info) -> str | None:
        user = await info.context.viewer()
        role = None if user is None else await service.operator_role(user.id)
        return None if role is None else role.upper()


@strawberry.type
class UserMutation:
    @strawberry.mutation
    async def sign_up(self, info: Info, input: SignUpInput) -> SignUpResult:
        ctx = info.context
        limiter, limit = ctx.services.rate_limiter, ctx.services.limits.signup_per_ip
        try:
            await limiter.consume(limit, ctx.client_ip())
            device_key = await proven_device(ctx, input.device)
            user = await service.sign_up(
                SignUpRequest(input.email, input.phone, input.username, input.password)
            )
        except ratelimit.RateLimited as exc:
            return rate_limited(exc)
        except DeviceProofInvalid as exc:
            return device_refused(exc)
        except user_errors.InvalidSignUp as exc:
            return ValidationError(
                code=ErrorCode.VALIDATION_ERROR,
                message="Some fields need attention",
                field_errors=[
                    FieldError(field=p.field, code=p.code, message=p.message) for p in exc.problems
                ],
            )
        notice = await referrals.join_at_sign_up(
            user.id,
            ctx.services.referral_rule,
            code=input.referral_code,
            username=None if input.referral_code else input.referred_by,
            device=devices.key_fingerprint(device_key) if device_key else None,
        )
        payload = await start_session(ctx, user, input.session_transport, device_key)
        payload.referral_notice = notice
        return payload

    @strawberry.mutation(
        description="A one-time challenge for this device to sign with its key, for the "
        "`device` of logIn, signUp and finishPasskeyLogIn."
    )
    async def device_challenge(self, info: Info) -> DeviceChallengePayload:
        challenge_id, nonce = await devices.issue_challenge(info.context.services.redis)
        return DeviceChallengePayload(challenge_id=challenge_id, nonce=nonce)

    @strawberry.mutation(
        description="Email (or text) a sign-in code to the account's verified contact, for "
        "logIn's unlockCode. The answer is the same whether or not the account exists."
    )
    async def send_log_in_code(
        self,
        info: Info,
        login_name: Annotated[str, strawberry.argument(name="login")],
        channel: ContactChannel = ContactChannel.EMAIL,
    ) -> LogInCodeSentPayload | RateLimited:
        ctx = info.context
        services = ctx.services
        try:
            await services.rate_limiter.consume(services.limits.login_codes_per_ip, ctx.client_ip())
        except ratelimit.RateLimited as exc:
            return rate_limited(exc)
        await login.send_unlock_code(
            services.redis,
            login_name,
            verification.ContactChannel(channel.value),
            email=services.email,
            sms=services.sms,
        )
        return LogInCodeSentPayload(
            message=f"If an account matches, a code is on its way to its verified {channel.value}."
        )

    @strawberry.mutation
    async def log_in(self, info: Info, input: LogInInput) -> LogInResult:
        ctx = info.context
        try:
            device = input.device.to_domain() if input.device else None
            signed_in = await login.check(
                login.Credentials(
                    input.login, input.password, ctx.client_ip(), device, input.unlock_code
                ),
                redis=ctx.services.redis,
                throttle=ctx.services.login_throttle,
            )
        except ratelimit.RateLimited as exc:
            return rate_limited(exc)
        except DeviceProofInvalid as exc:
            return device_refused(exc)
        except user_errors.InvalidCredentials as exc:
            return InvalidCredentials(code=ErrorCode.INVALID_CREDENTIALS, message=str(exc))
        user = signed_in.user
        if await totp.is_enrolled(user.id):
            # Two-step sign-in: the session starts only after the second factor.
            ticket = secrets.token_urlsafe(32)
            await ctx.services.redis.set(
                f"login_ticket:{ticket}",
                json.dumps(
                    {
                        "user_id": user.id,
                        "transport": input.session_transport.value,
                        "device_key": base64.b64encode(signed_in.device_key).decode()
                        if signed_in.device_key
                        else None,
                    }
                ),
                ex=LOGIN_TICKET_SECONDS,
            )
            methods = [StepUpMethod.TOTP]
            if await passkeys.passkeys_of(user.id):
                methods.append(StepUpMethod.PASSKEY)
            return SecondFactorRequired(
                code=ErrorCode.SECOND_FACTOR_REQUIRED,
                message="Enter the code from your authenticator app",
                ticket=ticket,
                methods=methods,
            )
        return await start_session(ctx, user, input.session_transport, signed_in.device_key)

    @strawberry.mutation(
        description="Second step of signing in: the ticket from logIn and a current "
        "authenticator code or an unused recovery code."
    )
    async def complete_log_in(self, info: Info, ticket: str, code: str) -> CompleteLogInResult:
        ctx = info.context
        stored = await ctx.services.redis.get(f"login_ticket:{ticket}") if ticket else None
        if stored is None:
            return InvalidCredentials(
                code=ErrorCode.INVALID_CREDENTIALS, message="Sign in again: that took too long"
            )
        pending = json.loads(stored)
        user_id, transport = int(pending["user_id"]), pending["transport"]
        device_key = base64.b64decode(pending["device_key"]) if pending["device_key"] else None
        try:
            await totp.verify(user_id, code, ctx.services.rate_limiter)
        except ratelimit.RateLimited as exc:
            return rate_limited(exc)
        except totp.WrongCode as exc:
            return InvalidCredentials(code=ErrorCode.INVALID_CREDENTIALS, message=str(exc))
        # Taken once: a second completion with the same ticket finds nothing.
        if not await ctx.services.redis.delete(f"login_ticket:{ticket}"):
            return InvalidCredentials(
                code=ErrorCode.INVALID_CREDENTIALS, message="Sign in again: that took too long"
            )
        user = await service.get_user(user_id)
        if user is None:
            return InvalidCredentials(code=ErrorCode.INVALID_CREDENTIALS, message="No such user")
        return await start_session(ctx, user, SessionTransport(transport), device_key)

    @strawberry.mutation
    async def log_out(self, info: Info) -> LogOutResult:
        ctx = info.context
        token = ctx.session_token()
        if not token or await ctx.viewer() is None:
            return not_authenticated()
        await ctx.services.sessions.revoke(token)
        if ctx.response is not None:
            ctx.response.delete_cookie(ctx.services.settings.session_cookie, path="/")
        ctx.forget_viewer()
        return LogOutPayload(ok=True)
