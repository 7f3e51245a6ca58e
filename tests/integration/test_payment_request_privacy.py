"""Finding 12 of the security review: payment requests and their QR images leaked.

Sequential references (`R1`, `R2`...) let anyone read another merchant's orders, and the
QR image routes answered without a login.
"""

from __future__ import annotations

import re

import pytest

from tests.conftest import LiveServer
from tests.graphql_client import call
from tests.merchant_helpers import KEY, create, customer, pay, shop
from wallet.config import SESSION_COOKIE
from wallet.db.engine import connection

pytestmark = pytest.mark.usefixtures("assert_ledger_sound")

PEEK = """query($r: String!) { paymentRequest(reference: $r) {
  merchantName amount description } }"""
PAYER_VIEW = """query($r: String!) { paymentRequest(reference: $r) {
  __typename id merchantName amount currency description } }"""
MERCHANT_VIEW = """query($r: String!) { merchantPaymentRequest(reference: $r) {
  id status orderId returnUrl } }"""


async def test_another_user_enumerating_sequential_references_sees_nothing(
    live_server: LiveServer,
) -> None:
    _, owner_token, merchant_id = await shop(live_server)
    for n in range(3):
        await create(
            live_server,
            owner_token,
            merchant_id,
            amount="12.50",
            orderId=f"SECRET-{n}",
            description="Two flat whites for J. Doe",
        )
    _, stranger_token = await customer(live_server)
    guesses = [f"R{n}" for n in range(1, 21)] + [str(n) for n in range(1, 21)]
    seen = [await call(live_server, stranger_token, PEEK, {"r": g}) for g in guesses]
    assert seen == [None] * len(guesses)


async def test_qr_images_need_the_merchants_login(live_server: LiveServer) -> None:
    _, owner_token, merchant_id = await shop(live_server)
    created = (await create(live_server, owner_token, merchant_id, amount="3.00"))["request"]
    async with live_server.client() as http:
        for path in (
            f"/merchant/payment-requests/{created['id']}/qr.svg",
            f"/merchant/payment-requests/{created['id']}/qr.png",
            "/merchant/payment-requests/1/qr.svg",
            "/merchant/payment-requests/2/qr.png",
        ):
            anonymous = await http.get(path)
            assert anonymous.status_code in (401, 404), path
            assert b"<svg" not in anonymous.content and b"PNG" not in anonymous.content


async def test_a_qr_image_is_served_to_its_own_merchant_only(live_server: LiveServer) -> None:
    _, owner_token, merchant_id = await shop(live_server)
    _, other_shop_token, _ = await shop(live_server)
    _, stranger_token = await customer(live_server)
    key = (
        await call(live_server, owner_token, KEY, {"m": merchant_id, "scopes": ["PAYMENTS_WRITE"]})
    )["key"]
    created = (await create(live_server, owner_token, merchant_id, amount="3.00"))["request"]
    path = f"/merchant/payment-requests/{created['id']}/qr.svg"
    async with live_server.client() as http:
        http.cookies.set(SESSION_COOKIE, owner_token)  # how the till's page loads it
        by_cookie = await http.get(path)
        http.cookies.clear()
        by_key = await http.get(path, headers={"authorization": f"Bearer {key}"})
        by_stranger = await http.get(path, headers={"authorization": f"Bearer {stranger_token}"})
        by_other_shop = await http.get(
            path, headers={"authorization": f"Bearer {other_shop_token}"}
        )
        unknown = await http.get(
            "/merchant/payment-requests/0000000000000000000Z/qr.svg",
            headers={"authorization": f"Bearer {owner_token}"},
        )
    assert (by_cookie.status_code, by_key.status_code) == (200, 200)
    assert by_cookie.content.startswith(b"<svg") and by_cookie.content == by_key.content
    assert by_cookie.headers["cache-control"] == "private, no-store"
    # Someone else's request and a request that does not exist: the same answer.
    assert (by_stranger.status_code, by_other_shop.status_code, unknown.status_code) == (
        404,
        404,
        404,
    )


async def test_references_are_random_and_the_payer_sees_only_what_paying_needs(
    live_server: LiveServer,
) -> None:
    _, owner_token, merchant_id = await shop(live_server)
    references = [
        (await create(live_server, owner_token, merchant_id, amount="1.00"))["request"]["id"]
        for _ in range(5)
    ]
    assert len(set(references)) == 5
    assert all(re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{20}", r) for r in references)  # 100 bits
    created = (
        await create(
            live_server,
            owner_token,
            merchant_id,
            amount="12.50",
            orderId="A-77",
            description="Flat white",
            returnUrl="https://shop.example/done",
        )
    )["request"]
    assert created["payUrl"].endswith(f"/?pay={created['id']}")
    _, payer_token = await customer(live_server)
    typed = "-".join(created["id"][i : i + 4] for i in range(0, 20, 4)).lower()
    for reference in (created["id"], typed):  # as shown under the QR, typed in any case
        seen = await call(live_server, payer_token, PAYER_VIEW, {"r": reference})
        assert seen == {
            "__typename": "PayableRequest",
            "id": created["id"],
            "merchantName": "Corner Coffee",
            "amount": "12.50",
            "currency": "USD",
            "description": "Flat white",
        }
    paid = await pay(live_server, payer_token, created["id"])
    assert paid["payment"]["orderId"] == "A-77"  # the payer's own receipt
    # Paid (or expired, or cancelled): the same answer as a reference never issued.
    assert await call(live_server, payer_token, PAYER_VIEW, {"r": created["id"]}) is None
    assert await call(live_server, payer_token, PAYER_VIEW, {"r": "0" * 20}) is None
    expiring = (await create(live_server, owner_token, merchant_id, amount="2.00"))["request"]
    async with connection() as conn:
        await conn.execute(
            "UPDATE payment_request SET expires_at = now() - interval '1 second' "
            "WHERE reference = $1",
            expiring["id"],
        )
    assert await call(live_server, payer_token, PAYER_VIEW, {"r": expiring["id"]}) is None
    # Its own merchant sees it in full, whatever its status; another merchant does not.
    full = await call(live_server, owner_token, MERCHANT_VIEW, {"r": created["id"]})
    assert (full["status"], full["orderId"], full["returnUrl"]) == (
        "PAID",
        "A-77",
        "https://shop.example/done",
    )
    _, other_shop_token, _ = await shop(live_server)
    assert await call(live_server, other_shop_token, MERCHANT_VIEW, {"r": created["id"]}) is None
    assert await call(live_server, payer_token, MERCHANT_VIEW, {"r": created["id"]}) is None


async def test_the_database_makes_every_reference_and_a_new_one_each_time() -> None:
    """Rows that existed before references were random got theirs from the same function
    (migrations/sql/0027_merchant_security.sql)."""
    async with connection() as conn:
        made = await conn.fetch(
            "SELECT payment_request_reference() AS r FROM generate_series(1, 2000)"
        )
        default = await conn.fetchval(
            "SELECT column_default FROM information_schema.columns "
            "WHERE table_name = 'payment_request' AND column_name = 'reference'"
        )
    references = [row["r"] for row in made]
    assert len(set(references)) == 2000
    assert all(re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{20}", r) for r in references)
    # Every character position takes all 32 symbols: no fixed bits leaked into it.
    assert all(len({r[i] for r in references}) == 32 for i in range(20))
    assert default == "payment_request_reference()"
