"""GraphQL surface of wallet.merchants.webhooks: the endpoint, deliveries, replays."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from wallet.api.graphql.context import Info
from wallet.api.graphql.errors import (
    ErrorCode,
    Forbidden,
    NotAuthenticated,
    NotFound,
    ValidationError,
    validation_error,
)
from wallet.api.graphql.merchants.access import int_id, principal_for
from wallet.merchants import service as merchants
from wallet.merchants import webhooks
from wallet.merchants.errors import (
    WebhookTargetRefused,
)
from wallet.security.egress import EgressPolicy


@strawberry.type(name="WebhookDelivery")
class WebhookDeliveryType:
    id: strawberry.ID
    event_type: str
    url: str
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: datetime
    created_at: datetime

    @classmethod
    def from_domain(cls, d: webhooks.Delivery) -> WebhookDeliveryType:
        return cls(
            id=strawberry.ID(str(d.id)),
            event_type=d.event_type,
            url=d.url,
            status=d.status.upper(),
            attempts=d.attempts,
            last_status_code=d.last_status_code,
            last_error=d.last_error,
            next_attempt_at=d.next_attempt_at,
            created_at=d.created_at,
        )


@strawberry.type
class WebhookEndpointPayload:
    secret: str = strawberry.field(description="Signing secret; shown once.")


WebhookEndpointResult = Annotated[
    WebhookEndpointPayload | ValidationError | NotFound | Forbidden | NotAuthenticated,
    strawberry.union("WebhookEndpointResult"),
]

WebhookReplayResult = Annotated[
    WebhookDeliveryType | NotFound | Forbidden | NotAuthenticated,
    strawberry.union("WebhookReplayResult"),
]


@strawberry.type
class WebhookQuery:
    @strawberry.field(description="Owner or API key: your webhook deliveries, newest first.")
    async def webhook_deliveries(
        self, info: Info, merchant_id: strawberry.ID, first: int = 50
    ) -> list[WebhookDeliveryType] | None:
        principal = await principal_for(info, merchant_id)
        if principal is None or not principal.may(merchants.Scope.PAYMENTS_READ):
            return None
        return [
            WebhookDeliveryType.from_domain(d) for d in await webhooks.deliveries(principal, first)
        ]


@strawberry.type
class WebhookMutation:
    @strawberry.mutation(description="Owner: where to POST payment events; returns the secret.")
    async def set_merchant_webhook(
        self, info: Info, merchant_id: strawberry.ID, url: str
    ) -> WebhookEndpointResult:
        principal = await principal_for(info, merchant_id)
        if principal is None:
            return NotFound(code=ErrorCode.NOT_FOUND, message="No such merchant for you")
        policy = EgressPolicy.from_settings(info.context.services.settings)
        try:
            secret = await webhooks.set_endpoint(principal, url, policy)
        except merchants.NotAllowed as exc:
            return Forbidden(code=ErrorCode.FORBIDDEN, message=str(exc))
        except WebhookTargetRefused as exc:
            return validation_error(exc.field, exc.code, str(exc))
        return WebhookEndpointPayload(secret=secret)

    @strawberry.mutation(description="Owner: send a webhook delivery again now.")
    async def replay_webhook_delivery(
        self, info: Info, merchant_id: strawberry.ID, delivery_id: strawberry.ID
    ) -> WebhookReplayResult:
        principal = await principal_for(info, merchant_id)
        if principal is None:
            return NotFound(code=ErrorCode.NOT_FOUND, message="No such merchant for you")
        try:
            delivery = await webhooks.replay(principal, int_id(delivery_id) or 0)
        except merchants.NotAllowed as exc:
            return Forbidden(code=ErrorCode.FORBIDDEN, message=str(exc))
        except merchants.MerchantNotFound:
            return NotFound(code=ErrorCode.NOT_FOUND, message="No such delivery")
        return WebhookDeliveryType.from_domain(delivery)
