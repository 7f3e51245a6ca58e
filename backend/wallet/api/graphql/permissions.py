"""Declared permissions: who may call a field is said once, on the field.

`@strawberry.mutation(extensions=[SignedIn()])` replaces the hand-written
`viewer = …; if viewer is None: return not_authenticated()` at the top of a resolver.
Without a signed-in user a mutation answers the typed `NotAuthenticated` member of its
union (a query answers null with `otherwise_null`, an empty list with `otherwise_empty`)
and its resolver never runs; inside it, `await info.context.require_viewer()` is then
the cached user.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import strawberry
from strawberry.extensions import FieldExtension

from wallet.api.graphql.errors import not_authenticated


class SignedIn(FieldExtension):
    """The field needs a signed-in user (a session, not a merchant API key)."""

    def __init__(self, *, otherwise_null: bool = False, otherwise_empty: bool = False) -> None:
        self.otherwise_null = otherwise_null
        self.otherwise_empty = otherwise_empty

    async def resolve_async(
        self,
        next_: Callable[..., Awaitable[Any]],
        source: Any,
        info: strawberry.Info,
        **kwargs: Any,
    ) -> Any:
        if await info.context.viewer() is None:
            if self.otherwise_empty:
                return []
            return None if self.otherwise_null else not_authenticated()
        return await next_(source, info, **kwargs)


def declared_permission(field: Any) -> FieldExtension | None:
    """The permission declared on a Strawberry field, if any (for tests and docs)."""
    for extension in getattr(field, "extensions", ()):
        if isinstance(extension, SignedIn):
            return extension
    return None
