"""The assembled Strawberry schema, with depth/alias/token limits and error masking."""

from __future__ import annotations

import re
from collections.abc import Callable

import strawberry
from graphql.validation import ASTValidationRule
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaskErrors,
    MaxTokensLimiter,
    ParserCache,
    SchemaExtension,
    ValidationCache,
)
from strawberry.extensions.max_aliases import create_validator as aliases_rule
from strawberry.extensions.query_depth_limiter import create_validator as depth_rule
from strawberry.types import ExecutionContext
from strawberry.types.base import get_object_definition
from strawberry.utils.str_converters import to_camel_case

from graphql import GraphQLError
from wallet.api.graphql.activity import ActivityQuery
from wallet.api.graphql.aml import AmlMutation, AmlQuery
from wallet.api.graphql.audit import AuditMutations
from wallet.api.graphql.bills import BillMutation, BillQuery
from wallet.api.graphql.books import BooksQuery
from wallet.api.graphql.bounds import ForgetRefusedInputs, install
from wallet.api.graphql.credentials import CredentialMutation
from wallet.api.graphql.dev_inbox import DevInboxQuery
from wallet.api.graphql.errors import should_mask_error
from wallet.api.graphql.fraud import FraudMutation, FraudQuery
from wallet.api.graphql.fx import FxMutation, FxQuery
from wallet.api.graphql.goals import GoalMutation, GoalQuery
from wallet.api.graphql.insights import (
    ExportMutation,
    ExportQuery,
    InsightsMutation,
    InsightsQuery,
    ReminderMutation,
    ReminderQuery,
)
from wallet.api.graphql.kyc import KycMutation, KycQuery, KycReviewMutation, KycReviewQuery
from wallet.api.graphql.ledger_explorer import LedgerExplorerQuery
from wallet.api.graphql.merchant_reviews import MerchantReviewMutation, MerchantReviewQuery
from wallet.api.graphql.merchants import (
    DisputeListQuery,
    DisputeMutation,
    DisputeQuery,
    FeeMutation,
    MerchantMutation,
    MerchantQuery,
    MerchantSubscription,
    OperatorFeeQuery,
    SettlementQuery,
    WebhookMutation,
    WebhookQuery,
)
from wallet.api.graphql.notification_centre import (
    NotificationCentreMutation,
    NotificationCentreQuery,
    NotificationCentreSubscription,
)
from wallet.api.graphql.notification_settings import (
    NotificationSettingsMutation,
    NotificationSettingsQuery,
)
from wallet.api.graphql.notifications import NotificationMutation
from wallet.api.graphql.observability import OperationMetrics
from wallet.api.graphql.operators import AuditQuery, OperatorQuery
from wallet.api.graphql.passkeys import PasskeyMutation, PasskeyQuery
from wallet.api.graphql.password_reset import PasswordResetMutation
from wallet.api.graphql.payments import PaymentMutation, PaymentQuery
from wallet.api.graphql.reconciliation import ReconciliationMutation, ReconciliationQuery
from wallet.api.graphql.refresh import RefreshMutation
from wallet.api.graphql.replicas import ReadYourWrites
from wallet.api.graphql.requests import RequestMutation, RequestQuery, RequestSubscription
from wallet.api.graphql.rewards import RewardsMutation, RewardsQuery
from wallet.api.graphql.security import PrivacyMutation, SecurityMutation, SecurityQuery
from wallet.api.graphql.splits import SplitMutation, SplitQuery
from wallet.api.graphql.statements import StatementQuery
from wallet.api.graphql.system_status import SystemQuery
from wallet.api.graphql.transactions import TransactionQuery, TransactionSubscription
from wallet.api.graphql.transfers import TransferMutation, TransferQuery
from wallet.api.graphql.users import UserMutation, UserQuery
from wallet.api.graphql.wallets import WalletQuery, WalletSubscription


@strawberry.type
class Query(
    PasskeyQuery,
    TransferQuery,
    AmlQuery,
    FraudQuery,
    KycQuery,
    KycReviewQuery,
    AuditQuery,
    SecurityQuery,
    ExportQuery,
    ReminderQuery,
    RewardsQuery,
    UserQuery,
    WalletQuery,
    TransactionQuery,
    PaymentQuery,
    RequestQuery,
    NotificationCentreQuery,
    NotificationSettingsQuery,
    OperatorQuery,
    ReconciliationQuery,
    MerchantQuery,
    WebhookQuery,
    SettlementQuery,
    DisputeQuery,
    DisputeListQuery,
    BillQuery,
    FxQuery,
    GoalQuery,
    InsightsQuery,
    SplitQuery,
    MerchantReviewQuery,
    DevInboxQuery,
    ActivityQuery,
    StatementQuery,
    BooksQuery,
    LedgerExplorerQuery,
    OperatorFeeQuery,
    SystemQuery,
):
    pass


@strawberry.type
class Mutation(
    CredentialMutation,
    PasswordResetMutation,
    PasskeyMutation,
    AmlMutation,
    FraudMutation,
    KycMutation,
    KycReviewMutation,
    SecurityMutation,
    PrivacyMutation,
    ExportMutation,
    ReminderMutation,
    RewardsMutation,
    UserMutation,
    RefreshMutation,
    TransferMutation,
    FxMutation,
    GoalMutation,
    InsightsMutation,
    SplitMutation,
    PaymentMutation,
    RequestMutation,
    NotificationMutation,
    NotificationCentreMutation,
    NotificationSettingsMutation,
    ReconciliationMutation,
    MerchantMutation,
    WebhookMutation,
    DisputeMutation,
    BillMutation,
    FeeMutation,
    MerchantReviewMutation,
):
    pass


@strawberry.type
class Subscription(
    WalletSubscription,
    RequestSubscription,
    TransactionSubscription,
    MerchantSubscription,
    NotificationCentreSubscription,
):
    pass


# The depth and alias limits as validation rules made once: the same rule classes on
# every operation let ValidationCache recognise an operation it has already validated
# (QueryDepthLimiter and MaxAliasesLimiter would make new ones per operation).
LIMIT_RULES: list[type[ASTValidationRule]] = [depth_rule(10, None, None), aliases_rule(15)]
# Distinct operation texts kept parsed and validated, per process: the app sends a few
# dozen; anything else only evicts the least recently used.
OPERATION_CACHE_SIZE = 256


# graphql-core ends many errors with "Did you mean 'me'?" (fields, arguments, types, enum
# values, input fields): with introspection off, that would still reveal the schema.
_SUGGESTION = re.compile(r"\s*Did you mean .*\?\s*$", re.S)


class QuietSchema(strawberry.Schema):
    """The production schema: errors keep their message without suggestions."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        for error in errors:
            error.message = _SUGGESTION.sub("", error.message)
        super().process_errors(errors, execution_context)


def build_schema(*, production: bool = False, replicas: bool = False) -> strawberry.Schema:
    # Factories, so that each operation gets fresh extension instances. Parsing and
    # validating cost more than running a simple mutation (validation of sendMoney took
    # ~3 ms against this schema); both are cached by operation text, per process.
    extensions: list[type[SchemaExtension] | Callable[[], SchemaExtension]] = [
        lambda: AddValidationRules(LIMIT_RULES),
        lambda: MaxTokensLimiter(max_token_count=2000),
        lambda: ParserCache(maxsize=OPERATION_CACHE_SIZE),
        lambda: ValidationCache(maxsize=OPERATION_CACHE_SIZE),
        lambda: MaskErrors(should_mask_error=should_mask_error),
        AuditMutations,
        # After AuditMutations, so it leaves first: the audit never sees refused values.
        ForgetRefusedInputs,
        # Last, so it leaves first: it sees errors before MaskErrors hides their cause.
        lambda: OperationMetrics(known=root_fields),
    ]
    if production:
        extensions.append(DisableIntrospection)
    if replicas:  # read-your-writes across read replicas; nothing to do without them
        extensions.append(ReadYourWrites)
    schema_class = QuietSchema if production else strawberry.Schema
    root_fields = frozenset(
        field.graphql_name or to_camel_case(field.python_name)
        for root in (Query, Mutation, Subscription)
        for field in get_object_definition(root, strict=True).fields
    )
    schema = schema_class(
        query=Query, mutation=Mutation, subscription=Subscription, extensions=extensions
    )
    install(schema._schema)  # every text and list input bounded before resolvers run
    return schema


def schema_sdl() -> str:
    """The exported contract, as written to graphql/schema.graphql."""
    return build_schema().as_str() + "\n"
