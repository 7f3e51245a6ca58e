"""Every request is logged once, as structured data, with its request id."""

from typing import Any

import structlog
from structlog.testing import capture_logs

from wallet.api.http import request_id_middleware


async def _call(
    headers: list[tuple[bytes, bytes]],
) -> tuple[list[dict[str, Any]], dict[bytes, bytes]]:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        structlog.get_logger("inner").info("handled")
        await send({"type": "http.response.start", "status": 201, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/graphql", "headers": headers}
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        await request_id_middleware(app)(scope, None, send)
    return logs, dict(sent[0]["headers"])


async def test_client_request_id_is_echoed_and_bound_to_every_log_line() -> None:
    logs, headers = await _call([(b"x-request-id", b"abc-123")])
    assert headers[b"x-request-id"] == b"abc-123"
    assert [(e["event"], e["request_id"]) for e in logs] == [
        ("handled", "abc-123"),
        ("request", "abc-123"),
    ]
    access = logs[-1]
    assert (access["method"], access["path"], access["status"]) == ("POST", "/graphql", 201)
    assert access["duration_ms"] >= 0


async def test_missing_or_oversized_request_id_is_replaced_by_a_fresh_one() -> None:
    for headers in ([], [(b"x-request-id", b"x" * 200)]):
        logs, response_headers = await _call(headers)
        request_id = response_headers[b"x-request-id"].decode()
        assert len(request_id) == 32 and request_id != "x" * 200
        assert {e["request_id"] for e in logs} == {request_id}
