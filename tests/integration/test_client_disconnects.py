"""A client that goes away (an aborted fetch, a closed tab, a dropped WebSocket) is not
a server error: the access log says 499 at info level, never 500, and nothing is logged
as an error (issue 18, item 11)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import websockets
from structlog.testing import capture_logs

from tests.conftest import LiveServer
from tests.factories import make_user
from tests.graphql_client import ME, call, token_for

QUERY = json.dumps({"query": ME}).encode()


@contextlib.contextmanager
def server_logs(caplog: pytest.LogCaptureFixture) -> Iterator[list[dict[str, Any]]]:
    """What the server logs meanwhile: structlog events, plus stdlib records (uvicorn,
    libraries) as {"event", "log_level"}."""
    caplog.set_level(logging.INFO)
    with capture_logs() as events:
        yield events
    events += [
        {"event": r.getMessage(), "log_level": r.levelname.lower(), "logger": r.name}
        for r in caplog.records
    ]


def errors_in(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        e
        for e in events
        if e.get("log_level") in ("warning", "error", "critical", "exception")
        or (e.get("status") or 0) >= 500
    ]


async def _post(live: LiveServer, body: bytes, *, declared: int) -> None:
    """Send a POST whose Content-Length is `declared`, then hang up without reading."""
    host, port = live.url.removeprefix("http://").split(":")
    _, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        b"POST /graphql HTTP/1.1\r\nHost: wallet\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % declared + body
    )
    await writer.drain()
    writer.close()
    await writer.wait_closed()


async def _requests_logged(events: list[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    for _ in range(100):
        lines = [e for e in events if e.get("event") == "request" and e.get("path") == "/graphql"]
        if len(lines) >= count:
            return lines
        await asyncio.sleep(0.05)
    raise AssertionError(f"expected {count} access lines, got {events}")


async def test_a_request_whose_client_left_mid_body_is_logged_499_at_info_not_500(
    live_server: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    with server_logs(caplog) as events:
        await _post(live_server, QUERY[:10], declared=len(QUERY))
        (line,) = await _requests_logged(events, 1)
    assert (line["status"], line["log_level"], line.get("client_gone")) == (499, "info", True)
    assert errors_in(events) == []
    # The server is fine and answers the next request.
    assert await call(live_server, None, "{ me { username } }") is None


async def test_fetches_aborted_right_after_sending_log_no_500_and_no_error(
    live_server: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    """What the browser does when urql tears a query down: the whole request is sent, then
    the connection closes, before or while the server reads it."""
    token = await token_for(live_server, await make_user())
    body = json.dumps({"query": ME}).encode()
    with server_logs(caplog) as events:
        await asyncio.gather(*(_post(live_server, body, declared=len(body)) for _ in range(30)))
        lines = await _requests_logged(events, 30)
        assert await call(live_server, token, "{ me { username } }") is not None
    assert {line["status"] for line in lines} <= {200, 499}
    assert errors_in(events) == []


async def test_a_subscription_whose_socket_drops_logs_no_error(
    live_server: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    token = await token_for(live_server, await make_user())
    with server_logs(caplog) as events:
        ws = await websockets.connect(live_server.ws_url, subprotocols=["graphql-transport-ws"])
        init = {"authorization": f"Bearer {token}"}
        await ws.send(json.dumps({"type": "connection_init", "payload": init}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        subscribe = {"query": "subscription { balanceChanged { currency available } }"}
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": subscribe}))
        await asyncio.sleep(0.3)
        ws.transport.abort()  # the network went away: no close frame
        for _ in range(100):
            if any(e.get("kind") == "websocket" for e in events):
                break
            await asyncio.sleep(0.05)
    (line,) = [e for e in events if e.get("kind") == "websocket"]
    assert line["log_level"] == "info"
    assert errors_in(events) == []
