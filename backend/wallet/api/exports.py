"""File downloads for the logged-in user: transactions as CSV, monthly statements as PDF.

They authenticate like GraphQL (the session cookie or a bearer token) and only ever
serve the caller's own records.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import TypeVar

from litestar import Request, get
from litestar.datastructures import State
from litestar.exceptions import HTTPException, NotAuthorizedException, NotFoundException
from litestar.params import FromPath
from litestar.response import Response

from wallet.api.state import Services
from wallet.api.tokens import request_token
from wallet.exports import service as exports
from wallet.exports.errors import ExportError
from wallet.merchants.service import KEY_PREFIX
from wallet.privacy import service as privacy


async def viewer_id(request: Request[object, object, State], state: State) -> int:
    """The signed-in user's id from the session cookie or bearer token (401 without)."""
    services: Services = state["services"]
    token = request_token(request.headers, request.cookies, services.settings)
    session = None
    if token and not token.startswith(KEY_PREFIX):
        session = await services.sessions.resolve(token)
    if session is None:
        raise NotAuthorizedException("Log in first")
    return int(session.user_id)


def _day(raw: str | None, default: date, name: str) -> date:
    if not raw:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise HTTPException(
            status_code=400, detail=f"{name} must be a date like 2026-11-01"
        ) from None


Body = TypeVar("Body", str, bytes)


def _download(body: Body, media_type: str, filename: str) -> Response[Body]:
    """A file the browser saves, never cached (it is someone's financial data)."""
    return Response(
        body,
        media_type=media_type,
        headers={
            "content-disposition": f'attachment; filename="{filename}"',
            "cache-control": "no-store",
        },
    )


@get("/export/transactions.csv", include_in_schema=False)
async def transactions_csv(request: Request[object, object, State], state: State) -> Response[str]:
    """`?from=YYYY-MM-DD&to=YYYY-MM-DD` (UTC days, both included; the last 30 days by default)."""
    user_id = await viewer_id(request, state)
    today = datetime.now(UTC).date()
    since = _day(request.query_params.get("from"), today - timedelta(days=30), "from")
    until = _day(request.query_params.get("to"), today, "to")
    try:
        body = await exports.transactions_csv(user_id, since, until)
    except ExportError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None
    return _download(body, "text/csv", f"transactions-{since}-{until}.csv")


@get("/export/statements/{month:str}", include_in_schema=False)
async def statement_pdf(
    request: Request[object, object, State], state: State, month: FromPath[str]
) -> Response[bytes]:
    user_id = await viewer_id(request, state)
    """`month` as YYYY-MM."""
    first = _day(f"{month}-01" if len(month) == 7 else "x", date.min, "month")
    pdf = await exports.statement_of(user_id, first)
    if pdf is None:
        raise NotFoundException("No statement for that month yet")
    return _download(pdf, "application/pdf", f"statement-{month}.pdf")


@get("/export/my-data.json", include_in_schema=False)
async def my_data_json(request: Request[object, object, State], state: State) -> Response[str]:
    """Everything the wallet holds about the caller (GDPR access and portability)."""
    user_id = await viewer_id(request, state)
    body = privacy.export_json(await privacy.export_data(user_id))
    return _download(body, "application/json", "my-wallet-data.json")


@get("/export/my-data.zip", include_in_schema=False)
async def my_data_archive(request: Request[object, object, State], state: State) -> Response[bytes]:
    """The same export as `my-data.json` plus one CSV per section, zipped."""
    user_id = await viewer_id(request, state)
    body = privacy.export_archive(await privacy.export_data(user_id))
    return _download(body, "application/zip", "my-wallet-data.zip")
