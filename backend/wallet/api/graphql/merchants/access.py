"""Who acts for a merchant in a GraphQL operation: the staff member's session or the
merchant's API key, resolved through the context, and ids as the API spells them."""

from __future__ import annotations

import strawberry

from wallet.api.graphql.context import Info
from wallet.merchants import service as merchants


def int_id(raw: strawberry.ID | None) -> int | None:
    return int(raw) if raw is not None and str(raw).isdigit() else None


async def principal_for(info: Info, merchant_id: strawberry.ID) -> merchants.Principal | None:
    return await info.context.merchant_principal(int_id(merchant_id))
