"""QR images of payment requests for point-of-sale screens (PNG and SVG).

Only the merchant's own staff (session cookie or bearer token: the till's page loads
them with its cookie) or its API keys get them, by the request's unguessable
reference; anyone else gets 401 (no credential) or 404 (not theirs, or no such
request: the same answer).
"""

from __future__ import annotations

import io

import qrcode
import qrcode.image.svg
from litestar import Request, get
from litestar.datastructures import State
from litestar.exceptions import NotAuthorizedException, NotFoundException
from litestar.params import FromPath
from litestar.response import Response

from wallet.api.state import Services
from wallet.api.tokens import request_token
from wallet.merchants import checkout
from wallet.merchants import service as merchants

_PRIVATE = {"cache-control": "private, no-store"}


async def _principal(
    request: Request[object, object, State], state: State, merchant_id: int
) -> merchants.Principal | None:
    """Who the credential acts for, if it acts for `merchant_id`; 401 without one."""
    services: Services = state["services"]
    token = request_token(request.headers, request.cookies, services.settings) or ""
    if token.startswith(merchants.KEY_PREFIX):
        key = await merchants.authenticate_api_key(token)
        if key is None:
            raise NotAuthorizedException("Log in or use an API key")
        return key if key.merchant_id == merchant_id else None
    session = await services.sessions.resolve(token) if token else None
    if session is None:
        raise NotAuthorizedException("Log in or use an API key")
    try:
        return await merchants.staff_principal(merchant_id, session.user_id)
    except merchants.MerchantNotFound:
        return None


async def _payload(request: Request[object, object, State], state: State, reference: str) -> str:
    found = await checkout.find_request(reference)
    principal = await _principal(request, state, found.merchant_id if found else 0)
    # Any key of the merchant will do: one that may only create requests shows them too.
    if found is None or principal is None:
        raise NotFoundException("no such payment request")
    return found.qr_payload()


@get("/merchant/payment-requests/{reference:str}/qr.png", include_in_schema=False)
async def payment_request_png(
    request: Request[object, object, State], state: State, reference: FromPath[str]
) -> Response[bytes]:
    buffer = io.BytesIO()
    payload = await _payload(request, state, reference)
    qrcode.make(payload, border=4, box_size=8).save(buffer, "PNG")
    return Response(buffer.getvalue(), media_type="image/png", headers=_PRIVATE)


@get("/merchant/payment-requests/{reference:str}/qr.svg", include_in_schema=False)
async def payment_request_svg(
    request: Request[object, object, State], state: State, reference: FromPath[str]
) -> Response[bytes]:
    image = qrcode.make(
        await _payload(request, state, reference),
        image_factory=qrcode.image.svg.SvgPathImage,
        border=4,
    )
    return Response(image.to_string(), media_type="image/svg+xml", headers=_PRIVATE)
