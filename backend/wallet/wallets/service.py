"""Wallet lifecycle and balances; money moves only through `wallet.ledger`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from wallet.db.engine import Connection, connection, transaction
from wallet.ledger import service as ledger
from wallet.ledger.errors import InsufficientFunds
from wallet.ledger.models import AccountType, Balance, EntryDraft, OwnerType, Purpose
from wallet.limits import service as limits
from wallet.limits.service import LimitScope
from wallet.money import Currency, Money
from wallet.outbox.service import Topic, emit
from wallet.transactions import service as transactions
from wallet.transactions.models import TransactionStatus, TransactionType
from wallet.wallets.errors import BalanceNotEmpty, BalanceNotFound, LastBalance, WalletUnavailable

DEFAULT_CURRENCY = Currency.USD


@dataclass(frozen=True, slots=True)
class WalletView:
    id: int
    user_id: int
    status: str
    balances: list[Balance]
    frozen_reason: str | None = None
    restricted_reason: str | None = None


async def open_wallet(conn: Connection, user_id: int) -> int:
    """Create the user's wallet and its default-currency balance account."""
    wallet_id = await conn.fetchval(
        "INSERT INTO wallet (user_id) VALUES ($1) RETURNING id", user_id
    )
    await open_balance(conn, user_id, DEFAULT_CURRENCY)
    return int(wallet_id)


async def open_balance(conn: Connection, user_id: int, currency: Currency) -> int:
    """The user's wallet account in `currency` (a liability of the platform, no overdraft),
    created, or reopened if the user had closed it: money arriving in a currency opens it."""
    account_id = await ledger.open_account(
        conn,
        owner_type=OwnerType.USER,
        owner_id=user_id,
        currency=currency,
        purpose=Purpose.WALLET,
        account_type=AccountType.LIABILITY,
        no_overdraft=True,
    )
    await ledger.reopen_account(conn, account_id)
    return account_id


async def open_currency_balance(user_id: int, currency: Currency) -> Balance:
    """Open (or reopen) the user's balance in `currency`; opening twice is harmless."""
    async with transaction() as conn:
        wallet = await lock_for_spending(conn, user_id)
        if wallet is None or wallet.status == "closed":
            raise WalletUnavailable("your", wallet.status if wallet else "missing")
        account_id = await open_balance(conn, user_id, currency)
        return await ledger.balance(conn, account_id)


async def close_currency_balance(user_id: int, currency: Currency) -> None:
    """Close the user's balance in `currency`: only at zero, and never the last one open."""
    async with transaction() as conn:
        wallet = await lock_for_spending(conn, user_id)
        if wallet is None or wallet.status in ("closed", "frozen"):
            raise WalletUnavailable("your", wallet.status if wallet else "missing")
        account_id = await ledger.find_account(
            conn, OwnerType.USER, user_id, currency, Purpose.WALLET
        )
        if account_id is None:
            raise BalanceNotFound(currency)
        locked = (await ledger.lock_accounts(conn, [account_id]))[account_id]
        if locked.status == "closed":
            return
        if locked.posted != 0 or locked.pending_debits or locked.pending_credits:
            raise BalanceNotEmpty(currency)
        still_open = await ledger.open_account_ids(conn, OwnerType.USER, user_id, Purpose.WALLET)
        if not [a for a in still_open if a != account_id]:
            raise LastBalance()
        await ledger.close_account(conn, account_id)


async def get_wallet(user_id: int) -> WalletView | None:
    async with connection() as conn:
        row = await conn.fetchrow(
            "SELECT id, status, frozen_reason, restricted_reason FROM wallet WHERE user_id = $1",
            user_id,
        )
        if row is None:
            return None
        balances = await ledger.balances_of_owner(conn, OwnerType.USER, user_id, Purpose.WALLET)
    return WalletView(
        id=int(row["id"]),
        user_id=user_id,
        status=row["status"],
        balances=balances,
        frozen_reason=row["frozen_reason"],
        restricted_reason=row["restricted_reason"],
    )


async def balance_in(conn: Connection, user_id: int, currency: Currency) -> Balance | None:
    balances = await ledger.balances_of_owner(conn, OwnerType.USER, user_id, Purpose.WALLET)
    return next((b for b in balances if b.currency is currency), None)


async def get_balance(user_id: int, currency: Currency) -> Balance | None:
    async with connection() as conn:
        return await balance_in(conn, user_id, currency)


async def available_for(conn: Connection, user_id: int, amount: Money) -> int:
    """What the user's wallet can spend in `amount`'s currency (minor units), or
    `InsufficientFunds` when that is less than `amount`. Read without a lock: for a
    review or a quote, told before the person confirms; the command checks again."""
    held = await balance_in(conn, user_id, amount.currency)
    available = 0 if held is None else held.available
    if available < amount.amount_minor:
        raise InsufficientFunds(held.account_id if held else 0, available, amount.amount_minor)
    return available


async def grant_promotional_credit(
    conn: Connection, user_id: int, amount: Money, description: str = "Promotional credit"
) -> int:
    """Credit a wallet from the platform's promotional funding (demo seed, goodwill).

    Records a completed `promotional_credit` transaction, debits the promotional-funding
    expense account and credits the user's wallet in one journal entry, and emits
    `balance.changed`; runs in the caller's transaction. Returns the transaction id.
    """
    wallet_account = await open_balance(conn, user_id, amount.currency)
    funding = await ledger.system_account_id(conn, amount.currency, Purpose.PROMOTIONAL_FUNDING)
    transaction_id, _ = await transactions.create(
        conn,
        transactions.NewTransaction(
            type=TransactionType.PROMOTIONAL_CREDIT,
            amount=amount,
            initiator_user_id=None,
            counterparty_user_id=user_id,
            note=description,
        ),
    )
    entry_id = await ledger.post_entry(
        conn,
        EntryDraft.transfer(
            "promotional_credit", funding, wallet_account, amount, f"transaction {transaction_id}"
        ),
    )
    await transactions.transition(
        conn, transaction_id, TransactionStatus.COMPLETED, entry_id=entry_id
    )
    await emit(
        conn,
        Topic.BALANCE_CHANGED,
        {
            "user_id": user_id,
            "currency": amount.currency.value,
            "entry_id": entry_id,
            "transaction_id": transaction_id,
        },
    )
    return transaction_id


@dataclass(frozen=True, slots=True)
class SpendingWallet:
    status: str
    verification_level: str


async def lock_for_spending(conn: Connection, user_id: int) -> SpendingWallet | None:
    """Lock the user's wallet row for an outgoing movement.

    Serialises one user's outgoing movements, so the daily limit sum is exact.
    """
    row = await conn.fetchrow(
        "SELECT w.status, u.verification_level FROM wallet w "
        "JOIN app_user u ON u.id = w.user_id WHERE w.user_id = $1 FOR UPDATE OF w",
        user_id,
    )
    return None if row is None else SpendingWallet(row["status"], row["verification_level"])


async def lock_many_for_spending(
    conn: Connection, user_ids: Sequence[int]
) -> dict[int, SpendingWallet]:
    """`lock_for_spending` for a batch: every wallet locked in user id order (one
    statement); the users without a wallet are missing from the answer."""
    rows = await conn.fetch(
        "SELECT w.user_id, w.status, u.verification_level FROM wallet w "
        "JOIN app_user u ON u.id = w.user_id WHERE w.user_id = ANY($1::bigint[]) "
        "ORDER BY w.user_id FOR UPDATE OF w",
        sorted(set(user_ids)),
    )
    return {int(r["user_id"]): SpendingWallet(r["status"], r["verification_level"]) for r in rows}


async def spendable_account(
    conn: Connection,
    user_id: int,
    amount: Money,
    *,
    scope: LimitScope,
    recipient_id: int | None = None,
) -> tuple[int, int | None]:
    """Lock the user's wallet for an outgoing `amount`; return the account it leaves from
    and, when `recipient_id` is given, that user's account in the currency (or None).

    Refuses a wallet that is not active and an amount over the user's `scope` limits; a missing
    balance in that currency is simply no money (InsufficientFunds).
    """
    wallet = await lock_for_spending(conn, user_id)
    if wallet is None or wallet.status != "active":
        raise WalletUnavailable("sender's", wallet.status if wallet else "missing")
    await limits.check(conn, user_id, wallet.verification_level, amount, scope)
    owners = [user_id] if recipient_id is None else [user_id, recipient_id]
    accounts = await ledger.find_accounts(
        conn, OwnerType.USER, owners, amount.currency, Purpose.WALLET
    )
    if user_id not in accounts:
        raise InsufficientFunds(0, 0, amount.amount_minor)
    return accounts[user_id], None if recipient_id is None else accounts.get(recipient_id)
