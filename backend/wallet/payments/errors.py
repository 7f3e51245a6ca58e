"""Refusals of payment-method and funding commands; nothing is written when raised."""

from __future__ import annotations

from wallet.errors import NotFound, Refusal


class PaymentError(Refusal):
    pass


class PaymentMethodNotFound(PaymentError, NotFound):
    def __init__(self, method_id: int) -> None:
        super().__init__(f"No payment method {method_id} on this account")


class WrongPaymentMethodKind(PaymentError):
    field = "paymentMethodId"

    def __init__(self, needed: str) -> None:
        super().__init__(f"This needs a {needed.replace('_', ' ')}")


class TooManyPaymentMethods(PaymentError):
    field = "paymentMethodId"

    def __init__(self, limit: int) -> None:
        super().__init__(f"You can link at most {limit} payment methods")


class UnknownGatewayReference(PaymentError):
    """A callback for a reference we do not (yet) know: the gateway should retry."""

    field = "reference"

    def __init__(self, reference: str) -> None:
        super().__init__(f"unknown gateway reference {reference}")
