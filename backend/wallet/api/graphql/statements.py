"""GraphQL surface of statements: `verifyStatement`, the ledger's answer to "is this
statement I hold (or my client gave me) what the ledger says?"."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry

from wallet.api.graphql.context import Info
from wallet.api.graphql.errors import (
    ErrorCode,
    NotAuthenticated,
    NotFound,
    UserError,
    ValidationError,
    validation_error,
)
from wallet.api.graphql.permissions import SignedIn
from wallet.money import Currency, UnknownCurrency
from wallet.statements import service as statements


@strawberry.input
class VerifyStatementInput:
    currency: str
    from_: date = strawberry.field(name="from", description="The first day (UTC) it covers.")
    to: date = strawberry.field(description="The last day (UTC) it covers.")
    position: int = strawberry.field(description="The ledger position it was cut at.")
    digest: str = strawberry.field(
        description="SHA-256 of its canonical text, 64 hexadecimal characters: the one "
        "printed on it, or better, recomputed from its rows (docs/ledger.md)."
    )


@strawberry.type(
    description="The ledger makes the same statement: same rows, same balances. Compare "
    "the opening and closing balances and the number of rows with the ones you hold."
)
class StatementVerified:
    currency: str
    from_: date = strawberry.field(name="from")
    to: date
    position: int
    digest: str
    opening: str
    closing: str
    rows: int
    credits: str = strawberry.field(description="Total money in, as a decimal.")
    debits: str = strawberry.field(description="Total money out, as a decimal.")


@strawberry.type(
    description="The ledger's statement for that currency, period and position is "
    "different: a row, amount, balance or time was changed, added or left out."
)
class StatementMismatch(UserError):
    pass


VerifyStatementResult = Annotated[
    StatementVerified | StatementMismatch | ValidationError | NotFound | NotAuthenticated,
    strawberry.union("VerifyStatementResult"),
]


@strawberry.type
class StatementQuery:
    @strawberry.field(
        description="Check a statement of your own against the ledger: it is made again "
        "from the ledger at its position and the digests are compared.",
        extensions=[SignedIn()],
    )
    async def verify_statement(
        self, info: Info, input: VerifyStatementInput
    ) -> VerifyStatementResult:
        user = await info.context.require_viewer()
        try:
            currency = Currency.parse(input.currency)
            checked = await statements.verify(
                user.id, currency, input.from_, input.to, input.position, input.digest
            )
        except UnknownCurrency:
            return validation_error("currency", "UNKNOWN_CURRENCY", "Not a currency we hold")
        except statements.NoSuchBalance as exc:
            return NotFound(code=ErrorCode.NOT_FOUND, message=str(exc))
        except statements.StatementError as exc:
            return validation_error(exc.field, "INVALID", str(exc))
        s = checked.statement
        if not checked.matches:
            return StatementMismatch(
                code=ErrorCode.STATEMENT_MISMATCH,
                message="This statement does not match the ledger: a row, amount, balance "
                "or time differs from what was booked.",
            )
        return StatementVerified(
            currency=s.currency.value,
            from_=s.period_from,
            to=s.period_to,
            position=s.position,
            digest=s.digest,
            opening=s.opening.format(),
            closing=s.closing.format(),
            rows=len(s.rows),
            credits=s.credits.format(),
            debits=s.debits.format(),
        )
