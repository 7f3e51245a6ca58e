"""Metrics of the GraphQL operations served (wallet.metrics): how long each took, by its
root field, the errors answered, and the subscriptions open."""

from __future__ import annotations

import time
from collections.abc import Iterator

from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from graphql import FieldNode, GraphQLError, OperationDefinitionNode, get_operation_ast
from wallet import metrics
from wallet.api.graphql.errors import PublicError, should_mask_error

UNKNOWN = "unknown"


class OperationMetrics(SchemaExtension):
    """Times each query and mutation and counts its errors (typed refusals count
    themselves: `UserError`); a subscription counts as open for as long as it runs.

    Labelled by the operation's first root field, one of the schema's (`known`): the
    operation name is the client's to choose, so it would be a label without bound."""

    def __init__(self, *, known: frozenset[str]) -> None:
        super().__init__()
        self.known = known
        self.subscribed = False

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            # A subscription ends by cancellation too (the client completes it or goes).
            if self.subscribed:
                metrics.SUBSCRIPTIONS.dec()
        if self.subscribed:
            return
        context = self.execution_context
        result = context.result
        for error in getattr(result, "errors", None) or ():
            metrics.GRAPHQL_ERRORS.labels(_code(error)).inc()
        document = context.graphql_document
        if document is None:
            return  # did not parse: counted above as an invalid query
        operation = get_operation_ast(document, context.operation_name)
        if not isinstance(operation, OperationDefinitionNode):
            return
        metrics.GRAPHQL_SECONDS.labels(
            self._root_field(operation), operation.operation.value
        ).observe(time.perf_counter() - started)

    def on_execute(self) -> Iterator[None]:
        if self.execution_context.operation_type is OperationType.SUBSCRIPTION:
            self.subscribed = True
            metrics.SUBSCRIPTIONS.inc()
        yield

    def _root_field(self, operation: OperationDefinitionNode) -> str:
        for selection in operation.selection_set.selections:
            if isinstance(selection, FieldNode):
                name = selection.name.value
                return name if name in self.known else UNKNOWN
        return UNKNOWN


def _code(error: GraphQLError) -> str:
    original = error.original_error
    if isinstance(original, PublicError):
        return str(original.extensions["code"])
    if should_mask_error(error):
        return "INTERNAL"
    return "INVALID_QUERY"
