"""GraphQL surface of users and sessions: signUp, logIn, logOut, me."""

from __future__ import annotations

import secrets
from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry

from wallet.api.graphql.context import SESSION_COOKIE, Context, Info
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
)
from wallet.auth import ratelimit
from wallet.security import devices, passkeys, totp
from wallet.users import errors as user_errors
from wallet.users import service
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


@strawberry.input
class SignUpInput:
    email: str
    phone: str
    username: str
    password: str
    session_transport: SessionTransport = SessionTransport.COOKIE
    referred_by: str | None = strawberry.field(
        default=None, description="Username of the friend who invited you (referral bonus)."
    )


@strawberry.input
class LogInInput:
    login: str = strawberry.field(description="Email, phone number or username.")
    password: str
    session_transport: SessionTransport = SessionTransport.COOKIE


@strawberry.type
class AuthPayload:
    user: UserType
    token: str | None = strawberry.field(
        description="The bearer token; only with sessionTransport BEARER (mobile clients)."
    )


@strawberry.type
class LogOutPayload:
    ok: bool


SignUpResult = Annotated[
    AuthPayload | ValidationError | RateLimited, strawberry.union("SignUpResult")
]
LogInResult = Annotated[
    AuthPayload | SecondFactorRequired | InvalidCredentials | RateLimited,
    strawberry.union("LogInResult"),
]
CompleteLogInResult = Annotated[
    AuthPayload | InvalidCredentials | RateLimited, strawberry.union("CompleteLogInResult")
]
LOGIN_TICKET_SECONDS = 300
LogOutResult = Annotated[LogOutPayload | NotAuthenticated, strawberry.union("LogOutResult")]


def rate_limited(exc: ratelimit.RateLimited) -> RateLimited:
    return RateLimited(
        code=ErrorCode.RATE_LIMITED,
        retry_after_seconds=exc.retry_after_seconds,
        message=f"Too many attempts. Try again in {exc.retry_after_seconds}s.",
    )


async def start_session(ctx: Context, user: User, transport: SessionTransport) -> AuthPayload:
    """Issue a fresh session token (never reuse one: no fixation) and deliver it."""
    old = ctx.session_token()
    if old:
        await ctx.services.sessions.revoke(old)
    conn = ctx.request or ctx.websocket
    agent = conn.headers.get("user-agent", "") if conn is not None else ""
    key = conn.headers.get("x-device-key") if conn is not None else None
    unfamiliar = await devices.record_sign_in(user.id, agent, key, ctx.client_ip())
    token = await ctx.services.sessions.create(
        user.id,
        device=devices.device_label(agent, key),
        ip=ctx.client_ip(),
        new_device=unfamiliar,
    )
    if transport is SessionTransport.BEARER:
        return AuthPayload(user=UserType.from_domain(user), token=token)
    assert ctx.response is not None
    settings = ctx.services.settings
    ctx.response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        max_age=settings.session_absolute_seconds,
        path="/",
    )
    return AuthPayload(user=UserType.from_domain(user), token=None)


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
            user = await service.sign_up(
                SignUpRequest(
                    input.email, input.phone, input.username, input.password, input.referred_by
                )
            )
        except ratelimit.RateLimited as exc:
            return rate_limited(exc)
        except user_errors.InvalidSignUp as exc:
            return ValidationError(
                code=ErrorCode.VALIDATION_ERROR,
                message="Some fields need attention",
                field_errors=[
                    FieldError(field=p.field, code=p.code, message=p.message) for p in exc.problems
                ],
            )
        return await start_session(ctx, user, input.session_transport)

    @strawberry.mutation
    async def log_in(self, info: Info, input: LogInInput) -> LogInResult:
        ctx = info.context
        limiter, limits = ctx.services.rate_limiter, ctx.services.limits
        account, ip = service.login_key(input.login), ctx.client_ip()
        try:
            await limiter.consume_all(
                [(limits.login_per_account, account), (limits.login_per_ip, ip)]
            )
            user = await service.authenticate(input.login, input.password)
        except ratelimit.RateLimited as exc:
            return rate_limited(exc)
        except user_errors.InvalidCredentials as exc:
            return InvalidCredentials(code=ErrorCode.INVALID_CREDENTIALS, message=str(exc))
        await limiter.reset(limits.login_per_account, account)
        await limiter.refund(limits.login_per_ip, ip)
        if await totp.is_enrolled(user.id):
            # Two-step sign-in: the session starts only after the second factor.
            ticket = secrets.token_urlsafe(32)
            await ctx.services.redis.set(
                f"login_ticket:{ticket}",
                f"{user.id}:{input.session_transport.value}",
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
        return await start_session(ctx, user, input.session_transport)

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
        user_id, _, transport = stored.decode().partition(":")
        try:
            await totp.verify(int(user_id), code, ctx.services.rate_limiter)
        except ratelimit.RateLimited as exc:
            return rate_limited(exc)
        except totp.WrongCode as exc:
            return InvalidCredentials(code=ErrorCode.INVALID_CREDENTIALS, message=str(exc))
        # Taken once: a second completion with the same ticket finds nothing.
        if not await ctx.services.redis.delete(f"login_ticket:{ticket}"):
            return InvalidCredentials(
                code=ErrorCode.INVALID_CREDENTIALS, message="Sign in again: that took too long"
            )
        user = await service.get_user(int(user_id))
        if user is None:
            return InvalidCredentials(code=ErrorCode.INVALID_CREDENTIALS, message="No such user")
        return await start_session(ctx, user, SessionTransport(transport))

    @strawberry.mutation
    async def log_out(self, info: Info) -> LogOutResult:
        ctx = info.context
        token = ctx.session_token()
        if not token or await ctx.viewer() is None:
            return not_authenticated()
        await ctx.services.sessions.revoke(token)
        if ctx.response is not None:
            ctx.response.delete_cookie(SESSION_COOKIE, path="/")
        ctx.forget_viewer()
        return LogOutPayload(ok=True)
