"""GraphQL surface of the history: `transactions` (a connection) and `transaction(id)`."""

from __future__ import annotations

import base64
from collections.abc import AsyncGenerator
from datetime import datetime
from enum import Enum

import strawberry

from wallet.api.graphql.context import Info
from wallet.api.graphql.insights import SpendingCategory
from wallet.api.graphql.permissions import SignedIn
from wallet.insights import categories
from wallet.insights.categories import Category
from wallet.transactions import history as history_service
from wallet.transactions.models import TransactionStatus, TransactionType

TransactionTypeEnum = strawberry.enum(TransactionType, name="TransactionType")
TransactionStatusEnum = strawberry.enum(TransactionStatus, name="TransactionStatus")


@strawberry.enum
class Direction(Enum):
    IN = "IN"
    OUT = "OUT"


@strawberry.type
class StatusChange:
    from_status: TransactionStatusEnum | None  # type: ignore[valid-type]
    to_status: TransactionStatusEnum  # type: ignore[valid-type]
    reason: str | None
    at: datetime


@strawberry.type(name="Transaction")
class TransactionNode:
    id: strawberry.ID
    type: TransactionTypeEnum  # type: ignore[valid-type]
    status: TransactionStatusEnum  # type: ignore[valid-type]
    direction: Direction
    amount: str
    currency: str
    counterparty: str | None = strawberry.field(description="The other party's username.")
    note: str
    created_at: datetime
    running_balance: str | None = strawberry.field(
        description="Your settled balance in this currency right after this transaction's "
        "latest posting. Transactions are listed by creation, not by when they hit the "
        "balance: for balances that add up line by line, read `activity`."
    )
    failure_reason: str | None = strawberry.field(
        default=None, description="Why it failed, as the gateway or the wallet said."
    )
    sequence: str | None = strawberry.field(
        default=None,
        description="transactionUpdated only: the id of the event that told of this change "
        "(a decimal string; larger is newer).",
    )
    payment_method: str | None = strawberry.field(
        default=None, description='The card or bank account, e.g. "Visa ending 4242".'
    )
    recipient_contact: str | None = strawberry.field(
        default=None, description="The phone or email an unclaimed transfer was sent to."
    )
    merchant: str | None = strawberry.field(
        default=None, description="The merchant paid or refunding, by name."
    )
    counter_amount: str | None = strawberry.field(
        default=None,
        description="The other currency's amount: what a conversion bought, what a "
        "cross-currency send delivered (to its recipient: what was sent).",
    )
    counter_currency: str | None = None
    savings_goal: str | None = strawberry.field(
        default=None, description="The savings goal money moved to or from."
    )

    @strawberry.field(
        description="Spending category: your own choice, your rules, the merchant's MCC, "
        "or the kind of transaction, in that order."
    )
    async def category(self, info: Info) -> SpendingCategory:  # type: ignore[valid-type]
        user = await info.context.require_viewer()

        async def load(ids: list[int]) -> list[Category]:
            found = await categories.categories_of(user.id, ids)
            return [found.get(i, Category.OTHER) for i in ids]

        category: Category = await info.context.loader("categories", load).load(int(self.id))
        return category

    @strawberry.field(description="Every status this transaction has been in, oldest first.")
    async def history(self, info: Info) -> list[StatusChange]:
        loader = info.context.loader("transitions", history_service.transitions_of)
        return [
            StatusChange(from_status=t.from_status, to_status=t.to_status, reason=t.reason, at=t.at)
            for t in await loader.load(int(self.id))
        ]

    @classmethod
    def from_domain(cls, item: history_service.HistoryItem) -> TransactionNode:
        return cls(
            id=strawberry.ID(str(item.id)),
            type=item.type,
            status=item.status,
            direction=Direction.IN if item.incoming else Direction.OUT,
            amount=item.amount.format(),
            currency=item.amount.currency.value,
            counterparty=item.counterparty_username,
            note=item.note,
            created_at=item.created_at,
            running_balance=item.running_balance.format() if item.running_balance else None,
            failure_reason=item.failure_reason,
            payment_method=item.payment_method,
            recipient_contact=item.recipient_contact,
            merchant=item.merchant_name,
            counter_amount=item.counter_amount.format() if item.counter_amount else None,
            counter_currency=item.counter_amount.currency.value if item.counter_amount else None,
            savings_goal=item.savings_goal,
        )


@strawberry.type
class TransactionEdge:
    cursor: str
    node: TransactionNode


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class TransactionConnection:
    edges: list[TransactionEdge]
    page_info: PageInfo


@strawberry.input
class TransactionFilter:
    type: TransactionTypeEnum | None = None  # type: ignore[valid-type]
    status: TransactionStatusEnum | None = None  # type: ignore[valid-type]
    from_: datetime | None = strawberry.field(default=None, name="from")
    to: datetime | None = None
    counterparty: str | None = strawberry.field(default=None, description="A username.")


def encode_cursor(transaction_id: int) -> str:
    return base64.urlsafe_b64encode(f"txn:{transaction_id}".encode()).decode()


def decode_cursor(cursor: str | None) -> int | None:
    """The transaction id in an opaque cursor; an unreadable cursor starts from the top."""
    if not cursor:
        return None
    try:
        kind, _, value = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
        return int(value) if kind == "txn" else None
    except (ValueError, UnicodeDecodeError):
        return None


@strawberry.type
class TransactionSubscription:
    @strawberry.subscription(description="Your transactions, each time one changes status.")
    async def transaction_updated(self, info: Info) -> AsyncGenerator[TransactionNode, None]:
        ctx = info.context
        user = await ctx.require_viewer()
        async for message in ctx.services.hub.listen(ctx.services.channels.transactions(user.id)):
            if not await ctx.session_active():
                return
            item = await history_service.get(user.id, int(message["payload"]["transaction_id"]))
            if item is not None:
                node = TransactionNode.from_domain(item)
                node.sequence = str(message["event_id"])
                yield node


@strawberry.type
class TransactionQuery:
    @strawberry.field(
        description="Your transactions, newest first (null when logged out).",
        extensions=[SignedIn(otherwise_null=True)],
    )
    async def transactions(
        self,
        info: Info,
        first: int = 20,
        after: str | None = None,
        filter: TransactionFilter | None = None,
    ) -> TransactionConnection | None:
        user = await info.context.require_viewer()
        f = filter or TransactionFilter()
        items, has_next = await history_service.page(
            user.id,
            first=first,
            after_id=decode_cursor(after),
            history_filter=history_service.HistoryFilter(
                f.type, f.status, f.from_, f.to, f.counterparty
            ),
        )
        edges = [
            TransactionEdge(cursor=encode_cursor(i.id), node=TransactionNode.from_domain(i))
            for i in items
        ]
        return TransactionConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=has_next, end_cursor=edges[-1].cursor if edges else None
            ),
        )

    @strawberry.field(description="One of your transactions; null if it is not yours.")
    async def transaction(self, info: Info, id: strawberry.ID) -> TransactionNode | None:
        user = await info.context.viewer()
        if user is None or not str(id).isdigit():
            return None
        item = await history_service.get(user.id, int(id))
        return TransactionNode.from_domain(item) if item else None
