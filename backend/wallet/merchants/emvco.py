"""EMVCo merchant-presented QR payloads (EMV QRCPS-MPM), as UPI and PIX codes use them.

A payload is a string of TLV fields: a 2-digit id, a 2-digit length, the value. Our
request id travels in a merchant-account-information template (id 26) under our own
globally unique identifier; the payload ends with the CRC16/CCITT-FALSE of everything
before the CRC value, field "63" "04" included.
"""

from __future__ import annotations

from dataclasses import dataclass

from wallet.money import Currency, Money

GUID = "com.wallet.pay"
ISO_NUMERIC = {
    Currency.USD: "840",
    Currency.EUR: "978",
    Currency.GBP: "826",
    Currency.JPY: "392",
    Currency.INR: "356",
    Currency.BRL: "986",
}
CURRENCY_BY_NUMERIC = {code: currency for currency, code in ISO_NUMERIC.items()}


class InvalidPayload(ValueError):
    pass


def crc16_ccitt(data: bytes) -> int:
    """CRC16/CCITT-FALSE: polynomial 0x1021, initial value 0xFFFF, no reflection."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def tlv(tag: str, value: str) -> str:
    if len(tag) != 2 or not tag.isdigit():
        raise ValueError(f"bad tag {tag!r}")
    if not 0 < len(value) <= 99:
        raise ValueError(f"field {tag} must be 1 to 99 characters")
    return f"{tag}{len(value):02d}{value}"


def parse_tlv(data: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    i = 0
    while i < len(data):
        if i + 4 > len(data):
            raise InvalidPayload("truncated field header")
        tag, length = data[i : i + 2], data[i + 2 : i + 4]
        if not (tag.isdigit() and length.isdigit()):
            raise InvalidPayload(f"bad field header at {i}")
        end = i + 4 + int(length)
        if end > len(data):
            raise InvalidPayload(f"field {tag} runs past the end")
        fields[tag] = data[i + 4 : end]
        i = end
    return fields


@dataclass(frozen=True, slots=True)
class MerchantQr:
    """What a payer's app reads from the code."""

    reference: str  # the payment request's unguessable reference (20 base32 characters)
    merchant_name: str
    merchant_city: str
    mcc: str
    country: str
    currency: Currency
    amount: Money | None  # None: a static code, the payer types the amount
    order_id: str | None = None

    @property
    def dynamic(self) -> bool:
        return self.amount is not None


def encode(qr: MerchantQr) -> str:
    fields = [
        tlv("00", "01"),
        tlv("01", "12" if qr.dynamic else "11"),
        tlv("26", tlv("00", GUID) + tlv("01", qr.reference)),
        tlv("52", qr.mcc),
        tlv("53", ISO_NUMERIC[qr.currency]),
    ]
    if qr.amount is not None:
        fields.append(tlv("54", qr.amount.format()))
    fields += [
        tlv("58", qr.country),
        tlv("59", qr.merchant_name[:25]),
        tlv("60", qr.merchant_city[:15]),
    ]
    if qr.order_id:
        fields.append(tlv("62", tlv("05", qr.order_id[:25])))
    body = "".join(fields) + "6304"
    return body + f"{crc16_ccitt(body.encode()):04X}"


def decode(payload: str) -> MerchantQr:
    """Parse and verify a payload; raise `InvalidPayload` on a bad CRC or missing field."""
    if len(payload) < 8 or payload[-8:-4] != "6304":
        raise InvalidPayload("no CRC field at the end")
    expected = f"{crc16_ccitt(payload[:-4].encode()):04X}"
    if payload[-4:].upper() != expected:
        raise InvalidPayload("CRC does not match")
    fields = parse_tlv(payload[:-8])
    try:
        account = parse_tlv(fields["26"])
        if account.get("00") != GUID:
            raise InvalidPayload("not a payload of this wallet")
        currency = CURRENCY_BY_NUMERIC[fields["53"]]
        amount = Money.parse(fields["54"], currency) if "54" in fields else None
        order = parse_tlv(fields["62"]).get("05") if "62" in fields else None
        return MerchantQr(
            reference=account["01"],
            merchant_name=fields["59"],
            merchant_city=fields["60"],
            mcc=fields["52"],
            country=fields["58"],
            currency=currency,
            amount=amount,
            order_id=order,
        )
    except KeyError as exc:
        raise InvalidPayload(f"missing field {exc}") from None


def ndef_uri_record(uri: str) -> bytes:
    """One short NDEF record of well-known type "U" (URI), as an NFC tag or HCE sends it."""
    prefixes = {"https://www.": 0x02, "https://": 0x04, "http://www.": 0x01, "http://": 0x03}
    code, rest = 0x00, uri
    for prefix, value in prefixes.items():
        if uri.startswith(prefix):
            code, rest = value, uri[len(prefix) :]
            break
    payload = bytes([code]) + rest.encode()
    if len(payload) > 255:
        raise ValueError("URI too long for a short record")
    # MB | ME | SR, TNF 1 (well-known); type length 1; payload length; type "U".
    return bytes([0xD1, 0x01, len(payload)]) + b"U" + payload
