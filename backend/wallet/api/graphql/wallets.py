"""GraphQL surface of wallets: `wallet { balances }` and the `balanceChanged` subscription."""

from __future__ import annotations

import functools
from collections.abc import AsyncGenerator

import strawberry

from wallet.api.graphql.context import Info
from wallet.db.engine import connection
from wallet.ledger.models import Balance
from wallet.money import Currency, Money
from wallet.outbox import service as outbox
from wallet.transfers.actions import Action, wallet_actions
from wallet.wallets import service


@strawberry.type(name="Balance", description="Amounts are decimal strings in the currency.")
class BalanceType:
    currency: str
    available: str = strawberry.field(description="What can be spent now: posted minus reserved.")
    posted: str = strawberry.field(description="Settled balance.")
    pending: str = strawberry.field(description="Incoming money not yet settled.")
    reserved: str = strawberry.field(description="Held for outgoing movements in progress.")
    sequence: str | None = strawberry.field(
        default=None,
        description="balanceChanged only: the outbox position this balance reflects (a "
        "decimal string; larger is newer). The snapshot a subscription starts with carries "
        "the position every change up to which it includes; each event carries its own "
        "event's id. An event at or below what a client shows changes nothing.",
    )

    @classmethod
    def from_domain(cls, b: Balance, sequence: int | None = None) -> BalanceType:
        def fmt(minor: int) -> str:
            return Money(minor, b.currency).format()

        return cls(
            currency=b.currency.value,
            available=fmt(b.available),
            posted=fmt(b.posted),
            pending=fmt(b.incoming),
            reserved=fmt(b.reserved),
            sequence=None if sequence is None else str(sequence),
        )


WalletActionName = strawberry.enum(Action, name="WalletActionName")


@strawberry.type(name="WalletAction")
class WalletActionType:
    action: WalletActionName  # type: ignore[valid-type]
    allowed: bool
    reason: str | None = strawberry.field(
        description="Why not, in plain words, to show on the disabled action."
    )


@strawberry.type(name="Wallet")
class WalletType:
    id: strawberry.ID
    status: str
    balances: list[BalanceType]
    actions: list[WalletActionType] = strawberry.field(
        description="Each money action, allowed now or with the reason it is not."
    )


@strawberry.type
class WalletQuery:
    @strawberry.field(description="The logged-in user's wallet, or null when logged out.")
    async def wallet(self, info: Info) -> WalletType | None:
        user = await info.context.viewer()
        view = await service.get_wallet(user.id) if user else None
        if view is None:
            return None
        return WalletType(
            id=strawberry.ID(str(view.id)),
            status=view.status,
            balances=[BalanceType.from_domain(b) for b in view.balances],
            actions=[
                WalletActionType(action=a.action, allowed=a.allowed, reason=a.reason)
                for a in wallet_actions(view.status, view.frozen_reason, view.restricted_reason)
            ],
        )


@strawberry.type
class WalletSubscription:
    @strawberry.subscription(
        description="The viewer's balances: each one as it is now when the subscription "
        "starts (so a client that reconnects catches up on what changed while it was "
        "away), then each time one changes."
    )
    async def balance_changed(self, info: Info) -> AsyncGenerator[BalanceType, None]:
        ctx = info.context
        user = await ctx.require_viewer()
        channel = ctx.services.channels.balance(user.id)
        # Subscribed before the snapshot is read: a change between the two comes as an
        # event after it, never falls in a gap.
        async with ctx.services.hub.subscribe(channel) as messages:
            # The relay's position first, then the balances: they include every change
            # up to it.
            async with connection() as conn:
                through = await outbox.delivered_through(conn)
            view = await service.get_wallet(user.id)
            for balance in view.balances if view else []:
                yield BalanceType.from_domain(balance, through)
            async for message in messages:
                # The session may have ended while the socket stayed open.
                if not await ctx.session_active():
                    return
                currency = Currency(message["payload"]["currency"])
                event_id = int(message["event_id"])
                current = await ctx.services.balance_reads.get(
                    (user.id, currency, event_id),
                    functools.partial(service.get_balance, user.id, currency),
                )
                if current is not None:
                    yield BalanceType.from_domain(current, int(message["event_id"]))
