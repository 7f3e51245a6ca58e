"""Downloads of the financial statements, for operators:
`GET /operator/books/{statement}.{csv|pdf}`, where the statement is `trial-balance`,
`balance-sheet`, `profit-and-loss` or `cash-flow`.

Query: `currency` (required), then `asOf=YYYY-MM-DD` for the trial balance and the
balance sheet (the end of that UTC day; today by default), or `from` and `to` for the
others (UTC days, both included; this month so far by default). They authenticate like
GraphQL (the session cookie or a bearer token): 401 without a session, 403 without a
ledger-reading operator role, 400 for a bad currency or period.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from litestar import Request, get
from litestar.datastructures import State
from litestar.exceptions import (
    HTTPException,
    NotFoundException,
    PermissionDeniedException,
)
from litestar.params import FromPath
from litestar.response import Response

from wallet.api.exports import viewer_id
from wallet.api.graphql.books import BOOK_READERS
from wallet.errors import Refusal
from wallet.exports import books as files
from wallet.money import Currency
from wallet.users.service import operator_role

FORMATS = {"csv": "text/csv", "pdf": "application/pdf"}


async def _operator(request: Request[object, object, State], state: State) -> int:
    """The signed-in operator's user id (401 without a session, 403 without the role)."""
    user_id = await viewer_id(request, state)
    if await operator_role(user_id) not in BOOK_READERS:
        raise PermissionDeniedException("Operators only")
    return user_id


def _day(raw: str | None, default: date, name: str) -> date:
    if not raw:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise HTTPException(
            status_code=400, detail=f"{name} must be a date like 2026-11-30"
        ) from None


@get("/operator/books/{file:str}", include_in_schema=False)
async def financial_statement_file(
    request: Request[object, object, State], state: State, file: FromPath[str]
) -> Response[Any]:
    """`file` is `<statement>.<csv|pdf>`, e.g. `balance-sheet.pdf`."""
    await _operator(request, state)
    name, _, extension = file.rpartition(".")
    try:
        statement = files.Statement(name)
    except ValueError:
        raise NotFoundException("No such statement") from None
    if extension not in FORMATS:
        raise NotFoundException("Statements come as .csv or .pdf")
    params = request.query_params
    today = datetime.now(UTC).date()
    if statement.as_of:
        first = last = _day(params.get("asOf"), today, "asOf")
    else:
        first = _day(params.get("from"), today.replace(day=1), "from")
        last = _day(params.get("to"), today, "to")
    try:
        currency = Currency.parse(params.get("currency") or "")
        document = await files.document(statement, currency, first, last)
    except Refusal as exc:
        raise HTTPException(status_code=400, detail=f"{exc.field}: {exc.message}") from None
    body: str | bytes = files.as_csv(document) if extension == "csv" else files.as_pdf(document)
    return Response(
        body,
        media_type=FORMATS[extension],
        headers={
            "content-disposition": f'attachment; filename="{document.filename_stem}.{extension}"',
            "cache-control": "no-store",
        },
    )
