"""Ledger helpers for tests: find a user's wallet account, move money, read balances."""

from wallet.db.engine import connection, transaction
from wallet.ledger import service as ledger
from wallet.ledger.models import EntryDraft, OwnerType, Purpose
from wallet.money import Currency, Money


def usd(minor: int) -> Money:
    return Money(minor, Currency.USD)


async def wallet_account(user_id: int) -> int:
    async with connection() as conn:
        (balance,) = await ledger.balances_of_owner(conn, OwnerType.USER, user_id, Purpose.WALLET)
    return balance.account_id


async def posted(account_id: int) -> int:
    async with connection() as conn:
        return (await ledger.balance(conn, account_id)).posted


async def transfer(source: int, target: int, minor: int) -> int:
    async with transaction() as conn:
        return await ledger.post_entry(conn, EntryDraft.transfer("p2p", source, target, usd(minor)))


async def wallet_cents(user_id: int) -> int:
    """The user's posted USD wallet balance in cents (0 with no USD balance)."""
    async with connection() as conn:
        balances = await ledger.balances_of_owner(conn, OwnerType.USER, user_id, Purpose.WALLET)
    return next((b.posted for b in balances if b.currency is Currency.USD), 0)
