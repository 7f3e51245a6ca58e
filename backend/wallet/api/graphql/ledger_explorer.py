"""GraphQL surface of the operators' ledger explorer (`wallet.ledger.explorer`): accounts
with balances, journal entries searched and paged, one entry, an account's statement.

Anyone without a ledger-reading operator role gets null (the resolver never runs). An
id that is not a number matches nothing.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import strawberry

from wallet.api.graphql.books import LedgerAccountType, OperatorsOnly
from wallet.api.graphql.errors import (
    ErrorCode,
    NotFound,
    ValidationError,
    validation_error,
)
from wallet.api.graphql.merchants.access import int_id
from wallet.api.graphql.operators import LEDGER_READERS
from wallet.db.engine import read_connection, transaction
from wallet.ledger import explorer
from wallet.ledger.books import InvalidPeriod
from wallet.ledger.errors import AccountNotFound
from wallet.ledger.models import OwnerType
from wallet.merchants.operator_view import merchant_names
from wallet.transactions import journal
from wallet.users import directory

LedgerOwnerType = strawberry.enum(OwnerType, name="LedgerOwnerType")


def _id(value: int | None) -> strawberry.ID | None:
    return None if value is None else strawberry.ID(str(value))


@strawberry.type(description="A ledger account and its posted balance.")
class ExplorerAccount:
    id: strawberry.ID
    code: str
    owner_type: LedgerOwnerType  # type: ignore[valid-type]
    owner_id: strawberry.ID | None
    owner_name: str | None = strawberry.field(
        description="The user's username or the merchant's name (null for the platform's)."
    )
    purpose: str
    account_type: LedgerAccountType  # type: ignore[valid-type]
    currency: str
    posted: str = strawberry.field(
        description='The posted balance on the account\'s normal side, e.g. "12.34".'
    )
    status: str = strawberry.field(description="ACTIVE, FROZEN or CLOSED.")

    @classmethod
    def of(cls, a: explorer.ExplorerAccount, owner_name: str | None) -> ExplorerAccount:
        return cls(
            id=strawberry.ID(str(a.id)),
            code=a.code,
            owner_type=a.owner_type,
            owner_id=_id(a.owner_id),
            owner_name=owner_name,
            purpose=a.purpose,
            account_type=a.account_type,
            currency=a.balance.currency.value,
            posted=a.posted.format(),
            status=a.status.upper(),
        )


@strawberry.type(description="One posting of a journal entry.")
class JournalPosting:
    id: strawberry.ID
    account_id: strawberry.ID
    account_code: str
    side: str = strawberry.field(description="D (debit) or C (credit).")
    amount: str
    currency: str


@strawberry.type(description="A journal entry: balanced postings, written once.")
class JournalEntry:
    id: strawberry.ID
    kind: str
    description: str
    created_at: datetime
    reverses_id: strawberry.ID | None = strawberry.field(
        description="The entry this one reverses, if it is a reversal."
    )
    transaction_id: strawberry.ID | None = strawberry.field(
        description="The business transaction the entry belongs to, if any."
    )
    reference: str | None = strawberry.field(
        description="That transaction's gateway reference, if it has one."
    )
    postings: list[JournalPosting]

    @classmethod
    def of(cls, linked: journal.LinkedEntry) -> JournalEntry:
        e = linked.entry
        return cls(
            id=strawberry.ID(str(e.id)),
            kind=e.kind,
            description=e.description,
            created_at=e.created_at,
            reverses_id=_id(e.reverses_id),
            transaction_id=_id(linked.transaction_id),
            reference=linked.reference,
            postings=[
                JournalPosting(
                    id=strawberry.ID(str(p.id)),
                    account_id=strawberry.ID(str(p.account_id)),
                    account_code=p.account_code,
                    side=p.side.value,
                    amount=p.amount.format(),
                    currency=p.amount.currency.value,
                )
                for p in e.postings
            ],
        )


@strawberry.type(description="One posting as it hit the account, with the balance after it.")
class AccountStatementLine:
    position: int = strawberry.field(description="Its place in the account's chain (1, 2, …).")
    entry_id: strawberry.ID
    kind: str
    description: str
    side: str = strawberry.field(description="D (debit) or C (credit).")
    amount: str
    balance_after: str = strawberry.field(description="On the account's normal side.")
    created_at: datetime = strawberry.field(description="When the entry was written.")
    posted_at: datetime = strawberry.field(
        description="When it hit the balance: the period is cut by this."
    )


@strawberry.type(
    description="An account's postings from the start of `from` to the end of `to` (UTC "
    "days), from the balance before to the balance after: computed from the postings, "
    "point in time."
)
class AccountStatement:
    account_id: strawberry.ID
    account_code: str
    currency: str
    normal_side: str = strawberry.field(description="D or C: the side that raises it.")
    from_: date | None = strawberry.field(name="from")
    to: date | None
    position: int = strawberry.field(
        description="The account's last position when the statement was cut."
    )
    opening: str = strawberry.field(description="The balance before `from`.")
    lines: list[AccountStatementLine]
    closing: str = strawberry.field(description="The balance at the end of `to` (or now).")
    complete: bool = strawberry.field(
        description="False when `first` stopped the lines short: opening plus the lines "
        "then falls short of closing."
    )

    @classmethod
    def of(
        cls, s: explorer.AccountStatement, first: date | None, last: date | None
    ) -> AccountStatement:
        return cls(
            account_id=strawberry.ID(str(s.account_id)),
            account_code=s.code,
            currency=s.currency.value,
            normal_side=s.normal_side.value,
            from_=first,
            to=last,
            position=s.position,
            opening=s.opening.format(),
            lines=[
                AccountStatementLine(
                    position=line.position,
                    entry_id=strawberry.ID(str(line.entry_id)),
                    kind=line.kind,
                    description=line.description,
                    side=line.side.value,
                    amount=line.amount.format(),
                    balance_after=line.balance_after.format(),
                    created_at=line.created_at,
                    posted_at=line.posted_at,
                )
                for line in s.lines
            ],
            closing=s.closing.format(),
            complete=s.complete,
        )


AccountStatementResult = Annotated[
    AccountStatement | ValidationError | NotFound, strawberry.union("AccountStatementResult")
]
From = Annotated[date | None, strawberry.argument(name="from", description="The first UTC day.")]
To = Annotated[date | None, strawberry.argument(description="The last UTC day (included).")]


async def _owner_names(
    accounts: list[explorer.ExplorerAccount],
) -> dict[tuple[OwnerType, int | None], str]:
    """(owner type, owner id) -> the user's username or the merchant's name."""

    def owners(kind: OwnerType) -> list[int]:
        return [a.owner_id for a in accounts if a.owner_type is kind and a.owner_id is not None]

    users = await directory.usernames(owners(OwnerType.USER))
    shops = await merchant_names(owners(OwnerType.MERCHANT))
    names: dict[tuple[OwnerType, int | None], str] = {}
    names.update({(OwnerType.USER, i): n for i, n in users.items()})
    names.update({(OwnerType.MERCHANT, i): n for i, n in shops.items()})
    return names


def _given(raw: strawberry.ID | None) -> tuple[bool, int | None]:
    """(whether the id is usable, the id): absent is usable, a non-number is not."""
    if raw is None:
        return True, None
    value = int_id(raw)
    return value is not None, value


@strawberry.type
class LedgerExplorerQuery:
    @strawberry.field(
        description="Operators: ledger accounts by code with their balances, every owner's "
        "(null otherwise). `search` is part of a code, or a user's username.",
        extensions=[OperatorsOnly(LEDGER_READERS)],
    )
    async def ledger_accounts(
        self,
        search: str | None = None,
        owner_type: LedgerOwnerType | None = None,  # type: ignore[valid-type]
        first: int = 50,
    ) -> list[ExplorerAccount] | None:
        text = (search or "").strip() or None
        users = await directory.ids_by_username(text) if text else []
        async with read_connection() as conn:
            found = await explorer.accounts(
                conn, code_contains=text, users=users, owner_type=owner_type, first=first
            )
        names = await _owner_names(found)
        return [ExplorerAccount.of(a, names.get((a.owner_type, a.owner_id))) for a in found]

    @strawberry.field(
        description="Operators: journal entries, newest first, `first` at a time; pass the "
        "last one's id as `after` for the next page (null otherwise). Every filter given "
        "must hold. `reference` is a transaction's gateway reference or part of an entry's "
        "description. Dates are UTC days the entry was written; with `accountId`, entries "
        "come in the order they hit the account's balance, and dates are when they did (a "
        "hot account's newest postings show once the worker rolls it up, every second).",
        extensions=[OperatorsOnly(LEDGER_READERS)],
    )
    async def journal_entries(
        self,
        account_id: strawberry.ID | None = None,
        transaction_id: strawberry.ID | None = None,
        reference: str | None = None,
        from_: From = None,
        to: To = None,
        kind: str | None = None,
        first: int = 50,
        after: strawberry.ID | None = None,
    ) -> list[JournalEntry] | None:
        ids = [_given(account_id), _given(transaction_id), _given(after)]
        if not all(usable for usable, _ in ids):
            return []
        (_, account), (_, txn), (_, cursor) = ids
        start, end = explorer.day_bounds(from_, to)
        search = explorer.EntrySearch(
            account_id=account, start=start, end=end, kind=kind, first=first, after=cursor
        )
        found = await journal.find_entries(
            search, transaction_id=txn, reference=(reference or "").strip() or None
        )
        return [JournalEntry.of(e) for e in found]

    @strawberry.field(
        description="Operators: one journal entry with its postings (null otherwise, or "
        "if there is no such entry).",
        extensions=[OperatorsOnly(LEDGER_READERS)],
    )
    async def journal_entry(self, id: strawberry.ID) -> JournalEntry | None:
        entry_id = int_id(id)
        found = None if entry_id is None else await journal.get_entry(entry_id)
        return None if found is None else JournalEntry.of(found)

    @strawberry.field(
        description="Operators: an account's statement for a period of UTC days, at most "
        "`first` lines (null otherwise).",
        extensions=[OperatorsOnly(LEDGER_READERS)],
    )
    async def account_statement(
        self, account_id: strawberry.ID, from_: From = None, to: To = None, first: int = 200
    ) -> AccountStatementResult | None:
        account = int_id(account_id)
        try:
            start, end = explorer.statement_period(from_, to)
            if account is None:
                raise AccountNotFound([])
            async with transaction() as conn:
                made = await explorer.statement(conn, account, start, end, first)
        except InvalidPeriod as exc:
            return validation_error(exc.field, exc.code, exc.message)
        except AccountNotFound:
            return NotFound(code=ErrorCode.NOT_FOUND, message="No such ledger account")
        return AccountStatement.of(made, from_, to)
