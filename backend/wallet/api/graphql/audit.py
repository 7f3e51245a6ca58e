"""Every GraphQL mutation goes into the audit log: who (user, operator, merchant key or
anonymous), what (the mutation field and its variables, secrets redacted), the outcome
(the result's type: a payload or the typed refusal), when and from where (IP, user agent).

Written right after the operation, in its own transaction, so refused and failed
attempts are recorded too (docs/security.md).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import structlog
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from graphql import FieldNode, OperationDefinitionNode
from wallet.merchants.service import KEY_PREFIX
from wallet.security import audit

log = structlog.get_logger(__name__)


def _mutation_fields(document: Any) -> list[tuple[str, str]]:
    """(field name, response key) of each top-level field of the operation."""
    fields = []
    for definition in getattr(document, "definitions", []):
        if isinstance(definition, OperationDefinitionNode):
            for selection in definition.selection_set.selections:
                if isinstance(selection, FieldNode):
                    key = selection.alias.value if selection.alias else selection.name.value
                    fields.append((selection.name.value, key))
    return fields


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
        user = None if token.startswith(KEY_PREFIX) else await context.viewer()
        actor_type: str | None
        if token.startswith(KEY_PREFIX):
            actor_type, actor_id = "merchant_key", None
        elif user is not None:
            actor_type, actor_id = None, user.id  # user or operator: decided by the insert
        else:
            actor_type, actor_id = "anonymous", None
        result = ctx.result
        data = getattr(result, "data", None)
        errors = getattr(result, "errors", None)
        details: dict[str, Any] = {"variables": ctx.variables or {}}
        if token.startswith(KEY_PREFIX):
            details["key_prefix"] = token[: len(KEY_PREFIX) + 8]
        for field, key in _mutation_fields(ctx.graphql_document):
            await audit.record(
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
