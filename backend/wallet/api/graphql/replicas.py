"""Read-your-writes across read replicas (wallet.db.replicas), for GraphQL.

A query may read from a replica, but only one that has replayed past the client's last
commit: after a mutation, the primary's WAL position is kept in Redis for the signed-in
user (a minute: longer than any replica may lag and stay in rotation); a query reads it
once and the router picks accordingly. Mutations and subscriptions read the primary.
With no replicas configured this does nothing at all.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from wallet.db import engine, replicas

KEY = "wallet:read-after:{user_id}"
KEEP_SECONDS = 60


class ReadYourWrites(SchemaExtension):
    async def on_execute(self) -> AsyncIterator[None]:
        if not engine.has_replicas():
            yield
            return
        ctx = self.execution_context
        kind = ctx.operation_type
        token = None
        if kind is OperationType.QUERY:
            token = replicas.read_scope.set(_Scope(ctx.context))
        try:
            yield
        finally:
            if token is not None:
                replicas.read_scope.reset(token)
        if kind is OperationType.MUTATION:
            session = await ctx.context.session()
            if session is not None:
                position = await engine.primary_lsn()
                await ctx.context.services.redis.set(
                    KEY.format(user_id=session.user_id), str(position), ex=KEEP_SECONDS
                )


class _Scope:
    """A query's reads: after the signed-in client's last commit, on one replica."""

    def __init__(self, context: Any) -> None:
        self.context = context
        self.replica: str | None = None
        self._known: list[int | None] = []

    async def position(self) -> int | None:
        if not self._known:
            session = await self.context.session()
            raw = (
                await self.context.services.redis.get(KEY.format(user_id=session.user_id))
                if session is not None
                else None
            )
            self._known.append(int(raw) if raw else None)
        return self._known[0]
