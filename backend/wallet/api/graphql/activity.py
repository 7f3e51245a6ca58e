"""GraphQL surface of the activity feed: `activity`, each line as it hit your balance."""

from __future__ import annotations

from datetime import datetime

import strawberry

from wallet.api.graphql.context import Info
from wallet.api.graphql.permissions import SignedIn
from wallet.api.graphql.transactions import (
    Direction,
    PageInfo,
    TransactionFilter,
    TransactionNode,
)
from wallet.transactions import activity as activity_service
from wallet.transactions import history as history_service


@strawberry.type(
    description="One line of your activity. A booked line moved a balance: lines of one "
    "currency are in the order they hit it, and each balance is the one before plus the "
    "line. A line that is not booked (pending, failed, expired) moved nothing yet."
)
class ActivityLine:
    booked: bool
    at: datetime = strawberry.field(
        description="When it hit your balance (booked), or when it was made (not booked)."
    )
    direction: Direction
    amount: str = strawberry.field(description="Unsigned; `direction` says which way.")
    currency: str
    balance_after: str | None = strawberry.field(
        description="Your balance in this currency right after this line (booked lines)."
    )
    position: int | None = strawberry.field(
        description="The ledger position of the posting in this currency's balance."
    )
    description: str
    transaction: TransactionNode | None = strawberry.field(
        description="The transaction it belongs to (null for a ledger movement with none, "
        "such as repaying a chargeback debt). A conversion has a line per currency."
    )

    @classmethod
    def from_domain(cls, line: activity_service.ActivityLine) -> ActivityLine:
        return cls(
            booked=line.booked,
            at=line.at,
            direction=Direction.IN if line.amount.amount_minor > 0 else Direction.OUT,
            amount=(line.amount if line.amount.amount_minor >= 0 else -line.amount).format(),
            currency=line.amount.currency.value,
            balance_after=line.balance_after.format() if line.balance_after else None,
            position=line.position,
            description=line.description,
            transaction=TransactionNode.from_domain(line.transaction) if line.transaction else None,
        )


@strawberry.type
class ActivityEdge:
    cursor: str
    node: ActivityLine


@strawberry.type
class ActivityConnection:
    edges: list[ActivityEdge]
    page_info: PageInfo


@strawberry.type
class ActivityQuery:
    @strawberry.field(
        description="Your activity, newest first: every posting on your balances with the "
        "balance after it, and what has not moved money yet (null when logged out).",
        extensions=[SignedIn(otherwise_null=True)],
    )
    async def activity(
        self,
        info: Info,
        first: int = 20,
        after: str | None = None,
        filter: TransactionFilter | None = None,
    ) -> ActivityConnection | None:
        user = await info.context.require_viewer()
        f = filter or TransactionFilter()
        lines, has_next = await activity_service.page(
            user.id,
            first=first,
            after=after,
            history_filter=history_service.HistoryFilter(
                f.type, f.status, f.from_, f.to, f.counterparty
            ),
        )
        edges = [
            ActivityEdge(
                cursor=activity_service.encode_cursor(line.key),
                node=ActivityLine.from_domain(line),
            )
            for line in lines
        ]
        return ActivityConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=has_next, end_cursor=edges[-1].cursor if edges else None
            ),
        )
