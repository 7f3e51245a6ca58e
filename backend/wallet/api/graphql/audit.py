"""Every GraphQL mutation goes into the audit log: who (user, operator, merchant key or
anonymous), what (the mutation field and its arguments, inline or from variables, kept
only where the allow-list says a name is safe), the outcome (the result's type: a payload
or the typed refusal), when and from where (IP, user agent).

Written right after the operation, in its own transaction, so refused and failed
attempts are recorded too (docs/security.md).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import structlog
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_operation_ast,
    value_from_ast_untyped,
)
from wallet.merchants.service import KEY_PREFIX
from wallet.security import audit

log = structlog.get_logger(__name__)

# Mutations that change nothing about anyone's account and are not worth a row each:
# `deviceChallenge` only hands out a one-time nonce (the sign-in that uses it is audited).
UNAUDITED = frozenset({"deviceChallenge"})


def _included(node: Any, variables: dict[str, Any]) -> bool:
    """False when @skip(if: true) or @include(if: false) keeps the node from running."""
    for directive in node.directives or ():
        condition = next((a for a in directive.arguments if a.name.value == "if"), None)
        value = bool(value_from_ast_untyped(condition.value, variables)) if condition else None
        if directive.name.value == "skip" and value is True:
            return False
        if directive.name.value == "include" and value is False:
            return False
    return True


def _top_fields(
    selections: SelectionSetNode,
    fragments: dict[str, FragmentDefinitionNode],
    variables: dict[str, Any],
    seen: frozenset[str] = frozenset(),
) -> Iterator[FieldNode]:
    # Fragments are followed as execution follows them: a mutation written inside a
    # fragment (`mutation { ...F }`) runs, so it is recorded too.
    for selection in selections.selections:
        if not _included(selection, variables):
            continue
        if isinstance(selection, FieldNode):
            yield selection
        elif isinstance(selection, InlineFragmentNode):
            yield from _top_fields(selection.selection_set, fragments, variables, seen)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in fragments and name not in seen:
                yield from _top_fields(
                    fragments[name].selection_set, fragments, variables, seen | {name}
                )


def mutation_calls(
    document: DocumentNode, operation_name: str | None, variables: dict[str, Any] | None
) -> list[tuple[str, str, dict[str, Any]]]:
    """(field name, response key, arguments) of each top-level field the operation runs.

    Arguments are read from the document with the variables substituted, so a value
    written inline and one passed as a variable are recorded (and redacted) alike."""
    operation = get_operation_ast(document, operation_name)
    if not isinstance(operation, OperationDefinitionNode):
        return []
    variables = variables or {}
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    calls = []
    for field in _top_fields(operation.selection_set, fragments, variables):
        key = field.alias.value if field.alias else field.name.value
        arguments = {
            a.name.value: value_from_ast_untyped(a.value, variables) for a in field.arguments or ()
        }
        calls.append((field.name.value, key, arguments))
    return calls


def _outcome(data: Any, field: str, errors: Any) -> str:
    value = data.get(field) if isinstance(data, dict) else None
    if isinstance(value, dict) and "__typename" in value:
        return str(value["__typename"])
    if errors:
        return "error"
    return "ok" if value is not None else "none"


class AuditMutations(SchemaExtension):
    async def on_execute(self) -> AsyncIterator[None]:
        yield
        ctx = self.execution_context
        try:
            if ctx.graphql_document is None or ctx.operation_type is not OperationType.MUTATION:
                return
            await self._record(ctx)
        except Exception:  # the audit must never break the answer; it is logged instead
            log.exception("audit.record_failed")

    async def _record(self, ctx: Any) -> None:
        context = ctx.context
        conn = context.request or context.websocket
        ip = context.client_ip() if conn is not None else None
        agent = conn.headers.get("user-agent") if conn is not None else None
        token = context.session_token() or ""
        session = None if token.startswith(KEY_PREFIX) else await context.session()
        actor_type: str | None
        if token.startswith(KEY_PREFIX):
            actor_type, actor_id = "merchant_key", None
        elif session is not None:
            # user or operator: decided by the insert
            actor_type, actor_id = None, session.user_id
        else:
            actor_type, actor_id = "anonymous", None
        result = ctx.result
        data = getattr(result, "data", None)
        errors = getattr(result, "errors", None)
        for field, key, arguments in mutation_calls(
            ctx.graphql_document, ctx.operation_name, ctx.variables
        ):
            if field in UNAUDITED:
                continue
            details: dict[str, Any] = {"arguments": arguments}
            if token.startswith(KEY_PREFIX):
                details["key_prefix"] = token[: len(KEY_PREFIX) + 8]
            await audit.record_gathered(
                audit.AuditEvent(
                    actor_type=actor_type,
                    actor_id=actor_id,
                    action=field,
                    outcome=_outcome(data, key, errors),
                    ip=ip,
                    user_agent=agent,
                    details=details,
                )
            )
