"""The gateway's callback endpoint: signed JSON events, applied once each; refused ones
are limited per source and leave a bounded trail (wallet.payments.callback_trail)."""

from __future__ import annotations

from litestar import Request, post
from litestar.datastructures import State
from litestar.response import Response
from litestar.status_codes import (
    HTTP_200_OK,
    HTTP_400_BAD_REQUEST,
    HTTP_401_UNAUTHORIZED,
    HTTP_409_CONFLICT,
    HTTP_429_TOO_MANY_REQUESTS,
)

from wallet.api.state import Services
from wallet.auth.ratelimit import RateLimited
from wallet.gateway.signing import SIGNATURE_HEADER, InvalidSignature
from wallet.payments.callback_trail import BoundedTrail
from wallet.payments.errors import UnknownGatewayReference
from wallet.payments.funding import InvalidCallback, receive_callback


@post("/gateway/sandbox/callbacks", include_in_schema=False)
async def gateway_callback(request: Request[object, object, State]) -> Response[dict[str, str]]:
    """200 with the outcome (also for duplicates); 401 unsigned or forged; 409 retry later;
    429 when the source has sent too many refused callbacks."""
    services: Services = request.app.state["services"]
    body = await request.body()
    try:
        outcome = await receive_callback(
            body,
            request.headers.get(SIGNATURE_HEADER),
            services.settings.gateway.webhook_secret,
            ip=services.proxies.client_ip(
                request.client.host if request.client else None,
                request.headers.get("x-forwarded-for"),
            ),
            trail=BoundedTrail.from_settings(
                services.settings, services.redis, services.rate_limiter
            ),
        )
    except RateLimited as exc:
        return Response(
            {"error": "too many refused callbacks from this source"},
            status_code=HTTP_429_TOO_MANY_REQUESTS,
            headers={"Retry-After": str(exc.retry_after_seconds)},
        )
    except InvalidSignature as exc:
        return Response({"error": str(exc)}, status_code=HTTP_401_UNAUTHORIZED)
    except InvalidCallback as exc:
        return Response({"error": str(exc)}, status_code=HTTP_400_BAD_REQUEST)
    except UnknownGatewayReference as exc:
        return Response({"error": str(exc)}, status_code=HTTP_409_CONFLICT)
    return Response({"outcome": outcome}, status_code=HTTP_200_OK)
