"""GraphQL surface of who may act for a merchant (wallet.merchants.service): staff
(owners, cashiers) and API keys with scopes."""

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
    not_authenticated,
    validation_error,
)
from wallet.api.graphql.merchants.access import int_id, principal_for
from wallet.merchants import service as merchants
from wallet.merchants.errors import (
    MerchantNotFound,
)


@strawberry.enum
class ApiScope(Enum):
    PAYMENTS_WRITE = "payments:write"
    REFUNDS_WRITE = "refunds:write"
    PAYMENTS_READ = "payments:read"


@strawberry.type
class ApiKeyPayload:
    id: strawberry.ID
    prefix: str
    key: str = strawberry.field(description="Shown once; store it now.")


ApiKeyResult = Annotated[
    ApiKeyPayload | ValidationError | NotFound | Forbidden | NotAuthenticated,
    strawberry.union("ApiKeyResult"),
]


@strawberry.type(name="MerchantApiKey", description="An API key, without its secret.")
class ApiKeyType:
    id: strawberry.ID
    prefix: str = strawberry.field(description="The key's public part, as the key starts.")
    label: str
    scopes: list[ApiScope]
    created_at: datetime
    revoked_at: datetime | None

    @classmethod
    def from_domain(cls, key: merchants.ApiKeyInfo) -> ApiKeyType:
        return cls(
            id=strawberry.ID(str(key.id)),
            prefix=key.prefix,
            label=key.label,
            scopes=[ApiScope(s.value) for s in key.scopes],
            created_at=key.created_at,
            revoked_at=key.revoked_at,
        )


@strawberry.type
class StaffQuery:
    @strawberry.field(description="Owner: the merchant's API keys, newest first.")
    async def merchant_api_keys(
        self, info: Info, merchant_id: strawberry.ID
    ) -> list[ApiKeyType] | None:
        principal = await principal_for(info, merchant_id)
        if principal is None:
            return None
        try:
            return [ApiKeyType.from_domain(k) for k in await merchants.api_keys_of(principal)]
        except merchants.NotAllowed:
            return None


@strawberry.type
class ApiKeyRevokedPayload:
    revoked_id: strawberry.ID


ApiKeyRevokedResult = Annotated[
    ApiKeyRevokedPayload | NotFound | Forbidden | NotAuthenticated,
    strawberry.union("ApiKeyRevokedResult"),
]


@strawberry.enum
class StaffRole(Enum):
    OWNER = "owner"
    CASHIER = "cashier"


@strawberry.type
class StaffPayload:
    username: str
    role: StaffRole


StaffResult = Annotated[
    StaffPayload | NotFound | Forbidden | NotAuthenticated, strawberry.union("StaffResult")
]


@strawberry.type
class StaffRemovedPayload:
    username: str


StaffRemovedResult = Annotated[
    StaffRemovedPayload | NotFound | Forbidden | NotAuthenticated,
    strawberry.union("StaffRemovedResult"),
]


@strawberry.type
class StaffMutation:
    @strawberry.mutation(description="Owner: revoke an API key at once.")
    async def revoke_merchant_api_key(
        self, info: Info, merchant_id: strawberry.ID, key_id: strawberry.ID
    ) -> ApiKeyRevokedResult:
        principal = await principal_for(info, merchant_id)
        if principal is None:
            return NotFound(code=ErrorCode.NOT_FOUND, message="No such merchant for you")
        try:
            await merchants.revoke_api_key(principal, int_id(key_id) or 0)
        except merchants.NotAllowed as exc:
            return Forbidden(code=ErrorCode.FORBIDDEN, message=str(exc))
        except merchants.MerchantNotFound:
            return NotFound(code=ErrorCode.NOT_FOUND, message="No such API key")
        return ApiKeyRevokedPayload(revoked_id=key_id)

    @strawberry.mutation(description="Owner: add a user (by @username) as owner or cashier.")
    async def add_merchant_staff(
        self, info: Info, merchant_id: strawberry.ID, username: str, role: StaffRole
    ) -> StaffResult:
        principal = await principal_for(info, merchant_id)
        if principal is None:
            return NotFound(code=ErrorCode.NOT_FOUND, message="No such merchant for you")
        user_id = await merchants.user_id_by_username(username)
        if user_id is None:
            return NotFound(code=ErrorCode.NOT_FOUND, message=f"No user {username}")
        try:
            await merchants.add_staff(principal, user_id, merchants.Role(role.value))
        except merchants.NotAllowed as exc:
            return Forbidden(code=ErrorCode.FORBIDDEN, message=str(exc))
        return StaffPayload(username=username.removeprefix("@"), role=role)

    @strawberry.mutation(description="Owner: take a user off your staff, at once.")
    async def remove_merchant_staff(
        self, info: Info, merchant_id: strawberry.ID, username: str
    ) -> StaffRemovedResult:
        principal = await principal_for(info, merchant_id)
        if principal is None:
            return NotFound(code=ErrorCode.NOT_FOUND, message="No such merchant for you")
        user_id = await merchants.user_id_by_username(username)
        try:
            await merchants.remove_staff(principal, user_id or 0)
        except merchants.NotAllowed as exc:
            return Forbidden(code=ErrorCode.FORBIDDEN, message=str(exc))
        except MerchantNotFound:
            return NotFound(code=ErrorCode.NOT_FOUND, message=f"{username} is not your staff")
        return StaffRemovedPayload(username=username.strip().removeprefix("@"))

    @strawberry.mutation(description="Owner: a key for your server; the secret is shown once.")
    async def create_merchant_api_key(
        self, info: Info, merchant_id: strawberry.ID, label: str, scopes: list[ApiScope]
    ) -> ApiKeyResult:
        user = await info.context.viewer()
        if user is None:
            return not_authenticated()
        principal = await principal_for(info, merchant_id)
        if principal is None:
            return NotFound(code=ErrorCode.NOT_FOUND, message="No such merchant for you")
        try:
            issued = await merchants.create_api_key(
                principal, label, {merchants.Scope(s.value) for s in scopes}
            )
        except merchants.NotAllowed as exc:
            return Forbidden(code=ErrorCode.FORBIDDEN, message=str(exc))
        except merchants.InvalidMerchantDetails as exc:
            return validation_error(exc.field, "INVALID", str(exc))
        return ApiKeyPayload(id=strawberry.ID(str(issued.id)), prefix=issued.prefix, key=issued.key)
