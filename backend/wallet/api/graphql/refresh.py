"""GraphQL surface of the mobile app's refresh tokens: refreshSession
(`wallet.auth.refresh` does the work)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import strawberry

from wallet.api.graphql.context import Info
from wallet.api.graphql.errors import ErrorCode, UserError, ValidationError
from wallet.api.graphql.users import DeviceProofInput, device_refused
from wallet.auth import refresh
from wallet.security.devices import DeviceProofInvalid
from wallet.users import renewal


@strawberry.input
class RefreshSessionInput:
    refresh_token: str = strawberry.field(description="The refreshToken last handed out.")
    device: DeviceProofInput = strawberry.field(
        description="A fresh answer to deviceChallenge, signed with the key the session "
        "was signed in with."
    )


@strawberry.type(description="A new pair: the refresh token given is spent.")
class SessionRefreshed:
    access_token: str = strawberry.field(description="Send as Authorization: Bearer.")
    access_token_expires_at: datetime
    refresh_token: str = strawberry.field(description="For the next refreshSession.")
    refresh_token_expires_at: datetime


@strawberry.type(description="Unknown, expired or signed-out refresh token: sign in again.")
class RefreshTokenInvalid(UserError):
    pass


@strawberry.type(
    description="A refresh token that was already used: the session was signed out on "
    "every token renewed from it (a copy of the token may exist). Sign in again."
)
class RefreshTokenReused(UserError):
    pass


@strawberry.type(
    description="The device proof is valid but is not the device the session was signed "
    "in on. Nothing changed."
)
class DeviceMismatch(UserError):
    pass


@strawberry.type(
    description="Another request from this device renewed the session with this token a "
    "moment ago: nothing ended and nothing was issued; use the tokens that request got."
)
class RefreshInProgress(UserError):
    pass


RefreshSessionResult = Annotated[
    SessionRefreshed
    | RefreshTokenInvalid
    | RefreshTokenReused
    | RefreshInProgress
    | DeviceMismatch
    | ValidationError,
    strawberry.union("RefreshSessionResult"),
]


def refused(
    exc: refresh.RefreshRefused,
) -> RefreshTokenInvalid | RefreshTokenReused | RefreshInProgress | DeviceMismatch:
    if isinstance(exc, refresh.RefreshInProgress):
        return RefreshInProgress(code=ErrorCode.REFRESH_IN_PROGRESS, message=exc.message)
    if isinstance(exc, refresh.RefreshTokenReused):
        return RefreshTokenReused(code=ErrorCode.REFRESH_TOKEN_REUSED, message=exc.message)
    if isinstance(exc, refresh.DeviceMismatch):
        return DeviceMismatch(code=ErrorCode.DEVICE_MISMATCH, message=exc.message)
    return RefreshTokenInvalid(code=ErrorCode.REFRESH_TOKEN_INVALID, message=exc.message)


@strawberry.type
class RefreshMutation:
    @strawberry.mutation(
        description="Renew a mobile (BEARER, device-bound) session: trade its refresh token, "
        "with a proof from the same device key, for a new access token and refresh token. "
        "Each refresh token works once; presenting a used one signs the session out."
    )
    async def refresh_session(self, info: Info, input: RefreshSessionInput) -> RefreshSessionResult:
        services = info.context.services
        try:
            issued = await renewal.renew(
                services.redis,
                services.refresh_tokens,
                input.refresh_token,
                input.device.to_domain(),
            )
        except DeviceProofInvalid as exc:
            return device_refused(exc)
        except refresh.RefreshRefused as exc:
            return refused(exc)
        return SessionRefreshed(
            access_token=issued.access_token,
            access_token_expires_at=datetime.fromtimestamp(issued.access_expires_at, UTC),
            refresh_token=issued.refresh_token,
            refresh_token_expires_at=datetime.fromtimestamp(issued.refresh_expires_at, UTC),
        )
