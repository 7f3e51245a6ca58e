"""`GET /metrics`: the API's Prometheus metrics, for a scraper holding the bearer token
(WALLET_METRICS_TOKEN). Not public: the compose proxy never forwards it."""

from __future__ import annotations

import hmac
from typing import Any

from litestar import Request, Response, get
from litestar.exceptions import NotAuthorizedException

from wallet import metrics
from wallet.api.state import Services


@get("/metrics", include_in_schema=False, sync_to_thread=False)
def metrics_page(request: Request[Any, Any, Any]) -> Response[bytes]:
    services: Services = request.app.state["services"]
    expected = f"Bearer {services.settings.metrics.token}".encode()
    given = request.headers.get("authorization", "").encode()
    if not hmac.compare_digest(given, expected):
        raise NotAuthorizedException(
            "A metrics scrape needs the bearer token", headers={"WWW-Authenticate": "Bearer"}
        )
    body, content_type = metrics.exposition()
    return Response(body, media_type=content_type)
