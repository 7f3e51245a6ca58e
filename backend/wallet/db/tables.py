"""Every Piccolo table of the service, for the app registry and schema checks."""

from piccolo.table import Table

from wallet.ledger.tables import IdempotencyKey, JournalEntry, LedgerAccount, LedgerHold, Posting
from wallet.outbox.tables import OutboxEvent
from wallet.users.tables import AppUser
from wallet.wallets.tables import Wallet

ALL_TABLES: tuple[type[Table], ...] = (
    AppUser,
    Wallet,
    LedgerAccount,
    JournalEntry,
    Posting,
    LedgerHold,
    IdempotencyKey,
    OutboxEvent,
)
