"""QR images of payment requests for point-of-sale screens (PNG and SVG).

The code carries the request's EMVCo payload, which holds nothing secret: it is meant
to be shown to whoever stands at the till.
"""

from __future__ import annotations

import io

import qrcode
import qrcode.image.svg
from litestar import get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Response

from wallet.merchants import checkout


async def _payload(request_id: int) -> str:
    found = await checkout.get_request(request_id)
    if found is None:
        raise NotFoundException("no such payment request")
    return found.qr_payload()


@get("/merchant/payment-requests/{request_id:int}/qr.png", include_in_schema=False)
async def payment_request_png(request_id: FromPath[int]) -> Response[bytes]:
    buffer = io.BytesIO()
    qrcode.make(await _payload(request_id), border=4, box_size=8).save(buffer, "PNG")
    return Response(buffer.getvalue(), media_type="image/png")


@get("/merchant/payment-requests/{request_id:int}/qr.svg", include_in_schema=False)
async def payment_request_svg(request_id: FromPath[int]) -> Response[bytes]:
    image = qrcode.make(
        await _payload(request_id), image_factory=qrcode.image.svg.SvgPathImage, border=4
    )
    return Response(image.to_string(), media_type="image/svg+xml")
