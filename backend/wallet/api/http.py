"""Plain HTTP routes and middleware: health, readiness, request ids and access logs."""

from __future__ import annotations

import time
import uuid
from typing import Any

import structlog
from litestar import get
from litestar.datastructures import MutableScopeHeaders, State
from litestar.response import Response
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE
from litestar.types import ASGIApp, Message, Receive, ReceiveMessage, Scope, Send

from wallet.api.state import Services
from wallet.db.engine import connection

log = structlog.get_logger("wallet.http")

REQUEST_ID_HEADER = "x-request-id"


@get("/health", sync_to_thread=False, include_in_schema=False)
def health() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@get("/ready", include_in_schema=False)
async def ready(state: State) -> Response[dict[str, Any]]:
    """Readiness: PostgreSQL and Redis both answer."""
    services: Services = state["services"]
    checks: dict[str, str] = {}
    try:
        async with connection() as conn:
            await conn.fetchval("SELECT 1")
        checks["postgres"] = "ok"
    except Exception as exc:  # readiness reports any failure rather than raising
        checks["postgres"] = f"error: {type(exc).__name__}"
    try:
        await services.redis.ping()
        checks["redis"] = "ok"
    except Exception as exc:
        checks["redis"] = f"error: {type(exc).__name__}"
    healthy = all(v == "ok" for v in checks.values())
    return Response(
        {"status": "ok" if healthy else "unavailable", "checks": checks},
        status_code=HTTP_200_OK if healthy else HTTP_503_SERVICE_UNAVAILABLE,
    )


# nginx's code for "the client closed the connection before the response": what the
# access log records for a request nobody is waiting for any more.
CLIENT_CLOSED_REQUEST = 499


def request_id_middleware(app: ASGIApp) -> ASGIApp:
    """Bind a request id (the client's X-Request-ID or a new one) to every log line, and
    write one access line per request.

    A client that goes away before its response (the browser aborted the fetch, the tab
    closed) is not a server error: Litestar answers a body it can no longer read with a
    500, which nobody receives. That answer is dropped and the request logged at info
    with status 499."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(REQUEST_ID_HEADER.encode(), b"").decode()
        request_id = incoming if 0 < len(incoming) <= 64 else uuid.uuid4().hex
        started = time.perf_counter()
        status: dict[str, int] = {}
        gone = False

        async def receive_watching() -> ReceiveMessage:
            nonlocal gone
            message = await receive()
            if message["type"] == "http.disconnect" and "code" not in status:
                gone = True
            return message

        async def send_with_id(message: Message) -> None:
            if gone:
                status.setdefault("code", CLIENT_CLOSED_REQUEST)
                return  # no one to answer
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                MutableScopeHeaders.from_message(message)[REQUEST_ID_HEADER] = request_id
            elif message["type"] == "websocket.accept":
                status["code"] = 101
            elif message["type"] == "websocket.close":
                status.setdefault("code", 403)  # refused before it was accepted
            await send(message)

        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await app(scope, receive_watching, send_with_id)
        finally:
            log.info(
                "request",
                kind=scope["type"],
                method=scope.get("method"),
                path=scope["path"],
                status=status.get("code"),
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
                **({"client_gone": True} if gone else {}),
            )
            structlog.contextvars.unbind_contextvars("request_id")

    return middleware
