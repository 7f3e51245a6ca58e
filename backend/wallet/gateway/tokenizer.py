"""The sandbox gateway's client-side tokeniser: its own small ASGI app on its own port,
as a processor serves its browser endpoints apart from the merchant's API.

The web app posts card or bank details here with the publishable key and gets a token
back; it then gives the wallet's API only that token, which keeps card and account
numbers (and the API) out of PCI scope. Cross-origin calls are allowed from the web
app's origins only; bodies are never logged.
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, Request, get, post
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.response import Response
from litestar.status_codes import HTTP_200_OK, HTTP_400_BAD_REQUEST, HTTP_401_UNAUTHORIZED
from redis.asyncio import Redis

from wallet.gateway.base import InvalidPaymentDetails
from wallet.gateway.sandbox import SandboxGateway

TOKENS_PATH = "/v1/tokens"
_NO_STORE = {"cache-control": "no-store"}


def _error(status: int, field: str, message: str) -> Response[dict[str, Any]]:
    return Response(
        {"error": {"field": field, "message": message}}, status_code=status, headers=_NO_STORE
    )


def _text(details: dict[str, Any], name: str) -> str:
    value = details.get(name)
    if not isinstance(value, str):
        raise InvalidPaymentDetails(name, f"{name} is required")
    return value


def _number(details: dict[str, Any], name: str, field: str) -> int:
    value = details.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidPaymentDetails(field, f"{field} must be a number")
    return value


async def _tokenize(gateway: SandboxGateway, body: Any) -> tuple[str, str]:
    """(token, type) for `{"card": {...}}` or `{"bank_account": {...}}`."""
    if isinstance(body, dict) and isinstance(card := body.get("card"), dict):
        token = await gateway.tokenize_card(
            _text(card, "number"),
            _number(card, "exp_month", "expMonth"),
            _number(card, "exp_year", "expYear"),
            _text(card, "cvc"),
        )
        return token, "card"
    if isinstance(body, dict) and isinstance(bank := body.get("bank_account"), dict):
        token = await gateway.tokenize_bank_account(
            _text(bank, "routing_number"),
            _text(bank, "account_number"),
            _text(bank, "account_holder_name"),
        )
        return token, "bank_account"
    raise InvalidPaymentDetails("body", 'Send {"card": {...}} or {"bank_account": {...}}')


def create_tokenizer_app(
    redis_url: str, publishable_key: str, allowed_origins: Sequence[str]
) -> Litestar:
    """The tokeniser for the web app at `allowed_origins`, vaulting into `redis_url`."""

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        redis = Redis.from_url(redis_url)
        app.state["gateway"] = SandboxGateway(redis)
        try:
            yield
        finally:
            await redis.aclose()

    @post(TOKENS_PATH, status_code=HTTP_200_OK)
    async def create_token(request: Request[object, object, State]) -> Response[dict[str, Any]]:
        """Vault card or bank details; 401 without the publishable key, 400 saying which
        field is wrong (the same checks a processor's tokeniser makes)."""
        given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), publishable_key.encode()):
            return _error(HTTP_401_UNAUTHORIZED, "key", "Unknown publishable key")
        try:
            body = await request.json()
        except ValueError:
            return _error(HTTP_400_BAD_REQUEST, "body", "The body must be JSON")
        try:
            token, kind = await _tokenize(request.app.state["gateway"], body)
        except InvalidPaymentDetails as exc:
            return _error(HTTP_400_BAD_REQUEST, exc.field, str(exc))
        return Response({"id": token, "object": "token", "type": kind}, headers=_NO_STORE)

    @get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return Litestar(
        route_handlers=[create_token, health],
        lifespan=[lifespan],
        cors_config=CORSConfig(
            allow_origins=list(allowed_origins),
            allow_methods=["POST"],
            allow_headers=["authorization", "content-type"],
        ),
        openapi_config=None,
        logging_config=None,  # nothing here may log a request body
    )
