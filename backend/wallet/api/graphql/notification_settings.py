"""GraphQL surface of what a user is notified of and where: per-channel preferences,
Web Push subscriptions (and the VAPID key to subscribe with), low-balance alerts."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import strawberry

from wallet.api.graphql.context import Info
from wallet.api.graphql.errors import (
    ErrorCode,
    NotAuthenticated,
    UserError,
    ValidationError,
    validation_error,
)
from wallet.api.graphql.permissions import SignedIn
from wallet.api.graphql.refusals import parse_amount
from wallet.money import Currency, UnknownCurrency
from wallet.notifications import low_balance, preferences, push_subscriptions
from wallet.notifications.providers import push_egress_policy
from wallet.notifications.push import PushTarget, vapid_public_key


@strawberry.enum(name="NotificationKind", description="What a preference is about.")
class NotificationKindEnum(Enum):
    MONEY_RECEIVED = "money_received"
    REQUESTS = "requests"
    SECURITY = strawberry.enum_value("security", description="Always on, on every channel.")
    LOW_BALANCE = "low_balance"
    WEEKLY_SUMMARY = "weekly_summary"
    MARKETING = strawberry.enum_value("marketing", description="Off unless you turn it on.")


@strawberry.enum(name="NotificationChannel")
class NotificationChannelEnum(Enum):
    IN_APP = "in_app"
    EMAIL = "email"
    SMS = "sms"
    PUSH = "push"


@strawberry.type
class NotificationPreference:
    kind: NotificationKindEnum
    channel: NotificationChannelEnum
    enabled: bool
    locked: bool = strawberry.field(description="Cannot be changed (security alerts).")

    @classmethod
    def from_domain(cls, p: preferences.Preference) -> NotificationPreference:
        return cls(
            kind=NotificationKindEnum(p.kind.value),
            channel=NotificationChannelEnum(p.channel.value),
            enabled=p.enabled,
            locked=p.locked,
        )


@strawberry.input
class SetNotificationPreferenceInput:
    kind: NotificationKindEnum
    channel: NotificationChannelEnum
    enabled: bool


@strawberry.type
class NotificationPreferencesPayload:
    preferences: list[NotificationPreference]


@strawberry.type(description="Security alerts cannot be turned off, on any channel.")
class PreferenceLocked(UserError):
    kind: NotificationKindEnum
    channel: NotificationChannelEnum


SetNotificationPreferenceResult = Annotated[
    NotificationPreferencesPayload | PreferenceLocked | NotAuthenticated,
    strawberry.union("SetNotificationPreferenceResult"),
]


@strawberry.input(description="A browser's PushSubscription.toJSON(): endpoint and keys.")
class PushSubscriptionInput:
    endpoint: str
    p256dh: str
    auth: str


@strawberry.type
class PushSubscriptionPayload:
    endpoint: str


@strawberry.type
class PushSubscriptionRemovedPayload:
    removed: bool = strawberry.field(description="False when no such subscription was kept.")


RegisterPushSubscriptionResult = Annotated[
    PushSubscriptionPayload | ValidationError | NotAuthenticated,
    strawberry.union("RegisterPushSubscriptionResult"),
]
RemovePushSubscriptionResult = Annotated[
    PushSubscriptionRemovedPayload | NotAuthenticated,
    strawberry.union("RemovePushSubscriptionResult"),
]


@strawberry.type(name="LowBalanceAlert")
class LowBalanceAlertType:
    currency: str
    threshold: str = strawberry.field(description="A decimal in the currency.")
    armed: bool = strawberry.field(
        description="True while the balance is at or above the threshold: the next debit "
        "that takes it below sends the alert (once, until it is back up)."
    )

    @classmethod
    def from_domain(cls, a: low_balance.LowBalanceAlert) -> LowBalanceAlertType:
        return cls(
            currency=a.threshold.currency.value, threshold=a.threshold.format(), armed=a.armed
        )


@strawberry.input
class SetLowBalanceAlertInput:
    currency: str
    threshold: str | None = strawberry.field(
        default=None, description='A decimal, e.g. "20.00"; null removes the alert.'
    )


@strawberry.type
class LowBalanceAlertsPayload:
    alerts: list[LowBalanceAlertType]


SetLowBalanceAlertResult = Annotated[
    LowBalanceAlertsPayload | ValidationError | NotAuthenticated,
    strawberry.union("SetLowBalanceAlertResult"),
]


@strawberry.type
class NotificationSettingsQuery:
    @strawberry.field(
        description="Every kind on every channel, on or off (null when logged out).",
        extensions=[SignedIn(otherwise_null=True)],
    )
    async def notification_preferences(self, info: Info) -> list[NotificationPreference] | None:
        user = await info.context.require_viewer()
        return [
            NotificationPreference.from_domain(p) for p in await preferences.preferences_of(user.id)
        ]

    @strawberry.field(description="The applicationServerKey for PushManager.subscribe (base64url).")
    def vapid_public_key(self, info: Info) -> str:
        return vapid_public_key(info.context.services.settings.notifications.vapid_private_key)

    @strawberry.field(
        description="Your low-balance alerts (null when logged out).",
        extensions=[SignedIn(otherwise_null=True)],
    )
    async def low_balance_alerts(self, info: Info) -> list[LowBalanceAlertType] | None:
        user = await info.context.require_viewer()
        return [LowBalanceAlertType.from_domain(a) for a in await low_balance.alerts_of(user.id)]


@strawberry.type
class NotificationSettingsMutation:
    @strawberry.mutation(
        description="Turn one kind of notification on or off on one channel.",
        extensions=[SignedIn()],
    )
    async def set_notification_preference(
        self, info: Info, input: SetNotificationPreferenceInput
    ) -> SetNotificationPreferenceResult:
        user = await info.context.require_viewer()
        kind = preferences.Kind(input.kind.value)
        channel = preferences.Channel(input.channel.value)
        try:
            await preferences.set_preference(user.id, kind, channel, input.enabled)
        except preferences.SecurityAlertsAlwaysOn as exc:
            return PreferenceLocked(
                code=ErrorCode.PREFERENCE_LOCKED,
                message=str(exc),
                kind=input.kind,
                channel=input.channel,
            )
        chosen = await preferences.preferences_of(user.id)
        return NotificationPreferencesPayload(
            preferences=[NotificationPreference.from_domain(p) for p in chosen]
        )

    @strawberry.mutation(
        description="Keep this browser's push subscription: notifications your preferences "
        "send by push arrive there.",
        extensions=[SignedIn()],
    )
    async def register_push_subscription(
        self, info: Info, input: PushSubscriptionInput
    ) -> RegisterPushSubscriptionResult:
        user = await info.context.require_viewer()
        target = PushTarget(input.endpoint.strip(), input.p256dh.strip(), input.auth.strip())
        policy = push_egress_policy(info.context.services.settings)
        try:
            kept = await push_subscriptions.register(user.id, target, policy)
        except push_subscriptions.InvalidSubscription as exc:
            return validation_error(exc.field, "INVALID", str(exc))
        return PushSubscriptionPayload(endpoint=kept.endpoint)

    @strawberry.mutation(
        description="Stop pushing to this browser (call it when it unsubscribes).",
        extensions=[SignedIn()],
    )
    async def remove_push_subscription(
        self, info: Info, endpoint: str
    ) -> RemovePushSubscriptionResult:
        user = await info.context.require_viewer()
        removed = await push_subscriptions.remove(user.id, endpoint.strip())
        return PushSubscriptionRemovedPayload(removed=removed)

    @strawberry.mutation(
        description="Be told when a debit takes your balance in a currency below a "
        "threshold (null threshold: stop).",
        extensions=[SignedIn()],
    )
    async def set_low_balance_alert(
        self, info: Info, input: SetLowBalanceAlertInput
    ) -> SetLowBalanceAlertResult:
        user = await info.context.require_viewer()
        if input.threshold is None:
            try:
                currency = Currency.parse(input.currency)
            except UnknownCurrency as exc:
                return validation_error("currency", "INVALID", str(exc))
            await low_balance.remove_alert(user.id, currency)
        else:
            threshold = parse_amount(input.threshold, input.currency)
            if isinstance(threshold, ValidationError):
                return threshold
            try:
                await low_balance.set_alert(user.id, threshold)
            except low_balance.ThresholdNotPositive as exc:
                return validation_error("threshold", "NOT_POSITIVE", str(exc))
        alerts = await low_balance.alerts_of(user.id)
        return LowBalanceAlertsPayload(alerts=[LowBalanceAlertType.from_domain(a) for a in alerts])
