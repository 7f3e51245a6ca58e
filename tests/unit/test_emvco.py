"""EMVCo merchant-presented QR payloads: round trip, CRC, field lengths; NDEF; the image."""

import io

import pytest
import qrcode
import zxingcpp
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from wallet.merchants import emvco
from wallet.money import Currency, Money

QR = emvco.MerchantQr(
    reference="R42",
    merchant_name="Corner Coffee",
    merchant_city="San Francisco",
    mcc="5814",
    country="US",
    currency=Currency.USD,
    amount=Money(1250, Currency.USD),
    order_id="ORDER-7",
)


def test_crc_matches_the_published_check_value() -> None:
    # CRC-16/CCITT-FALSE of "123456789" is 0x29B1.
    assert emvco.crc16_ccitt(b"123456789") == 0x29B1


def test_payload_has_the_expected_fields_and_round_trips() -> None:
    payload = emvco.encode(QR)
    assert payload.startswith("000201010212")  # format 01, dynamic (12)
    assert "5303840" in payload and "540512.50" in payload and "5802US" in payload
    assert payload[-8:-4] == "6304"
    assert emvco.decode(payload) == QR


def test_a_static_code_has_no_amount_and_says_so() -> None:
    static = emvco.MerchantQr("M7", "Corner Coffee", "SF", "5814", "US", Currency.USD, None)
    payload = emvco.encode(static)
    assert payload[6:12] == "010211" and "54" not in emvco.parse_tlv(payload[:-8])
    assert emvco.decode(payload).dynamic is False


def test_a_changed_character_fails_the_crc() -> None:
    payload = emvco.encode(QR)
    tampered = payload.replace("12.50", "92.50")
    with pytest.raises(emvco.InvalidPayload, match="CRC"):
        emvco.decode(tampered)


def test_long_names_are_cut_to_the_field_limits() -> None:
    long = emvco.MerchantQr(
        "R1", "A" * 40, "B" * 30, "5411", "US", Currency.JPY, Money(500, Currency.JPY)
    )
    fields = emvco.parse_tlv(emvco.encode(long)[:-8])
    assert (len(fields["59"]), len(fields["60"]), fields["54"], fields["53"]) == (
        25,
        15,
        "500",
        "392",
    )


@given(
    reference=st.text("RM0123456789", min_size=2, max_size=12),
    name=st.text(st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=25),
    cents=st.integers(1, 10**9),
)
def test_any_request_round_trips(reference: str, name: str, cents: int) -> None:
    qr = emvco.MerchantQr(
        reference, name, "City", "5999", "BR", Currency.BRL, Money(cents, Currency.BRL)
    )
    assert emvco.decode(emvco.encode(qr)) == qr


def test_the_qr_image_decodes_to_the_payload() -> None:
    payload = emvco.encode(QR)
    buffer = io.BytesIO()
    qrcode.make(payload, border=4).save(buffer, "PNG")
    (found,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(buffer.getvalue())))
    assert found.text == payload


def test_ndef_uri_record_layout() -> None:
    record = emvco.ndef_uri_record("https://wallet.example/pay/R42")
    assert record[:4] == bytes([0xD1, 0x01, 1 + len("wallet.example/pay/R42")]) + b"U"
    assert record[4] == 0x04 and record[5:].decode() == "wallet.example/pay/R42"
