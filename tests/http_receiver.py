"""A real HTTP server on this machine standing in for a merchant's webhook endpoint (or
for an internal service an attacker aims at): records every request it gets."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn


@dataclass
class Receiver:
    """Records every request; fails the first `failures` of them with 500, then answers
    `status` with `headers` (e.g. a redirect)."""

    url: str = ""
    port: int = 0
    failures: int = 0
    status: int = 200
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        self.received.append((headers, body))
        status = 500 if len(self.received) <= self.failures else self.status
        await send({"type": "http.response.start", "status": status, "headers": self.headers})
        await send({"type": "http.response.body", "body": b"ok"})


@contextlib.asynccontextmanager
async def receiving(
    receiver: Receiver,
    host: str = "127.0.0.1",
    port: int = 0,
    tls: tuple[str, str] | None = None,
) -> AsyncIterator[Receiver]:
    """Serve `receiver` on host:port (0: any free port), over TLS with (certificate file,
    key file) when `tls` is given."""
    certfile, keyfile = tls or (None, None)
    server = uvicorn.Server(
        uvicorn.Config(
            receiver,
            host=host,
            port=port,
            log_config=None,
            lifespan="off",
            ssl_certfile=certfile,
            ssl_keyfile=keyfile,
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    receiver.port = server.servers[0].sockets[0].getsockname()[1]
    receiver.url = f"{'https' if tls else 'http'}://{host}:{receiver.port}/hooks/wallet"
    try:
        yield receiver
    finally:
        server.should_exit = True
        await task
