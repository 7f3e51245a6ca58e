"""GraphQL surface of merchants, one module per part of `wallet.merchants`:
onboarding, staff and API keys, checkout (payment requests, paying, refunds, the POS
subscription), webhooks, settlement, buyer protection and disputes, fees (and, for
operators, every merchant's fees and settlement schedule).

The schema sees the classes below; each joins its parts in the order the exported
contract lists their fields."""

from __future__ import annotations

import strawberry

from wallet.api.graphql.merchants.checkout import (
    CheckoutMutation,
    CheckoutQuery,
    MerchantSubscription,
)
from wallet.api.graphql.merchants.fees import FeeMutation
from wallet.api.graphql.merchants.onboarding import OnboardingMutation, OnboardingQuery
from wallet.api.graphql.merchants.operator_fees import OperatorFeeQuery
from wallet.api.graphql.merchants.protection import (
    DisputeListQuery,
    DisputeMutation,
    DisputeQuery,
)
from wallet.api.graphql.merchants.settlement import SettlementQuery
from wallet.api.graphql.merchants.staff import StaffMutation, StaffQuery
from wallet.api.graphql.merchants.webhooks import WebhookMutation, WebhookQuery


@strawberry.type
class MerchantQuery(OnboardingQuery, CheckoutQuery, StaffQuery):
    pass


@strawberry.type
class MerchantMutation(OnboardingMutation, CheckoutMutation, StaffMutation):
    pass


__all__ = [
    "DisputeListQuery",
    "DisputeMutation",
    "DisputeQuery",
    "FeeMutation",
    "MerchantMutation",
    "MerchantQuery",
    "MerchantSubscription",
    "OperatorFeeQuery",
    "SettlementQuery",
    "WebhookMutation",
    "WebhookQuery",
]
